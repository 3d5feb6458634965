// The read-only status page on the status port: plain HTML, a stylesheet and a little script that polls /status and
// /jobs/ID. No build step. Every value is set as text, never as markup: workflow and job names come from repos.

export const STATUS_PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export const STATUS_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>factory status</title>
<link rel="stylesheet" href="/status-page.css">
<script src="/status-page.js" defer></script>
</head>
<body>
<header><h1>factory</h1><p id="summary">loading…</p><p id="updated"></p></header>
<section><h2>Health</h2><table id="github"><thead><tr><th>repo</th><th>GitHub</th><th>last GitHub error</th></tr></thead><tbody></tbody></table>
<p id="disk"></p><p id="housekeeping"></p><p id="last-error"></p></section>
<section><h2>Pools</h2><table id="pools"><thead><tr><th>repo</th><th>profile</th><th>running</th><th>queued</th><th>last hour</th><th>failed</th></tr></thead><tbody></tbody></table></section>
<section><h2>Queue</h2><table id="queue"><thead><tr><th>job</th><th>repo</th><th>profile</th><th>waiting</th></tr></thead><tbody></tbody></table></section>
<section><h2>Running</h2><table id="running"><thead><tr><th>job</th><th>repo</th><th>profile</th><th>runner</th><th>stage</th><th>age</th></tr></thead><tbody></tbody></table></section>
<section><h2>Recent jobs</h2><table id="recent"><thead><tr><th>job</th><th>workflow</th><th>repo</th><th>stage</th><th>result</th><th>timeline</th></tr></thead><tbody></tbody></table>
<p class="legend"><span class="s-queued">queued</span><span class="s-taken">taken</span><span class="s-runner">runner</span><span class="s-container">container</span><span class="s-progress">in progress</span><span class="s-done">completed</span></p></section>
</body>
</html>
`;

export const STATUS_PAGE_CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#1a1a1a;background:#fafafa}
h1{font-size:1.3rem;margin:0}h2{font-size:1rem;margin:1.5rem 0 .4rem}header p{margin:.2rem 0;color:#555}
table{border-collapse:collapse;width:100%;background:#fff}th,td{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #e5e5e5;vertical-align:middle}
th{font-weight:600;color:#555;font-size:.8rem;text-transform:uppercase}
.bad{color:#b42318;font-weight:600}.ok{color:#067647}
.bar{display:flex;height:12px;width:320px;background:#eee;border-radius:2px;overflow:hidden}.bar span{display:block;height:100%}
.s-queued{background:#d0d5dd}.s-taken{background:#98a2b3}.s-runner{background:#84adff}.s-container{background:#2e90fa}.s-progress{background:#12b76a}.s-done{background:#027a48}
.legend span{display:inline-block;padding:0 .4rem;margin-right:.3rem;color:#fff;border-radius:2px;font-size:.75rem}.legend .s-queued,.legend .s-taken{color:#1a1a1a}
`;

export const STATUS_PAGE_JS = `'use strict';
const STAGES = [['queued', 's-queued'], ['taken', 's-taken'], ['runner-created', 's-runner'], ['container-started', 's-container'], ['in_progress', 's-progress'], ['completed', 's-done']];
const timelines = new Map();

function age(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 120 ? s + 's' : s < 7200 ? Math.round(s / 60) + 'm' : s < 172800 ? Math.round(s / 3600) + 'h' : Math.round(s / 86400) + 'd';
}
function cell(row, value, cls) {
  const td = row.insertCell();
  if (value instanceof Node) td.append(value); else td.textContent = value === undefined || value === null ? '-' : String(value);
  if (cls) td.className = cls;
  return td;
}
function fill(id, items, render) {
  const body = document.querySelector('#' + id + ' tbody');
  body.replaceChildren();
  for (const item of items) {
    const row = body.insertRow();
    render(row, item);
  }
  if (items.length === 0) cell(body.insertRow(), 'none').colSpan = 8;
}
function jobLink(id, detail) {
  if (!detail || !detail.url) return document.createTextNode(String(id));
  const a = document.createElement('a');
  a.href = detail.url;
  a.rel = 'noreferrer';
  a.textContent = String(id);
  return a;
}
function bar(timeline) {
  const div = document.createElement('div');
  div.className = 'bar';
  if (!timeline) return div;
  const at = (stage) => { const e = timeline.events.find((x) => x.stage === stage); return e ? e.at : undefined; };
  const marks = STAGES.map(([stage, cls]) => [at(stage), cls, stage]).filter((m) => m[0] !== undefined);
  if (marks.length < 2) return div;
  const start = marks[0][0];
  const total = Math.max(1, marks[marks.length - 1][0] - start);
  for (let i = 0; i + 1 < marks.length; i++) {
    const span = document.createElement('span');
    span.className = marks[i][1];
    span.dataset.stage = marks[i][2];
    span.style.width = ((marks[i + 1][0] - marks[i][0]) / total) * 100 + '%';
    span.title = marks[i][2] + ': ' + ((marks[i + 1][0] - marks[i][0]) / 1000).toFixed(2) + 's';
    div.append(span);
  }
  return div;
}
async function json(path) {
  const res = await fetch(path, { cache: 'no-store' });
  if (!res.ok) throw new Error(path + ': HTTP ' + res.status);
  return res.json();
}
async function refresh() {
  let s;
  try {
    s = await json('/status');
  } catch (err) {
    document.getElementById('summary').textContent = 'no answer from the controller: ' + err.message;
    return;
  }
  const details = s.jobs || {};
  document.getElementById('summary').textContent = 'instance ' + s.instance + ' · docker ' + s.docker + ' · github ' + s.github.state + ' · ' + s.running.length + ' running · ' + s.queued.length + ' queued';
  document.getElementById('updated').textContent = 'updated ' + new Date(s.now).toISOString().slice(11, 19) + ' UTC';
  document.getElementById('last-error').textContent = 'last error: ' + (s.lastError ? (s.lastErrorAt ? age(s.now - s.lastErrorAt) + ' ago: ' : '') + s.lastError : 'none');
  document.getElementById('disk').textContent = 'disk: ' + (s.disk.map((d) => d.path + ' ' + Math.round(d.usedRatio * 100) + '% used').join(', ') || 'not measured yet');
  const hk = s.housekeeping.last;
  document.getElementById('housekeeping').textContent = 'housekeeping: ' + (hk ? (hk.error ? 'last run failed: ' + hk.error : 'last run ' + age(s.now - hk.at) + ' ago, removed ' + hk.removed.containers + ' container(s), ' + hk.removed.images + ' image(s), ' + hk.removed.volumes + ' volume(s)') : 'no run yet');
  fill('github', s.github.repos, (row, r) => { cell(row, r.repo); cell(row, r.state, r.state === 'ok' ? 'ok' : r.state === 'unknown' ? '' : 'bad'); cell(row, r.lastError); });
  fill('pools', s.rows, (row, r) => { cell(row, r.repo); cell(row, r.profile); cell(row, r.running); cell(row, r.queued); cell(row, r.recent); cell(row, r.failed, r.failed ? 'bad' : ''); });
  fill('queue', s.queued, (row, q) => { cell(row, jobLink(q.jobId, details[q.jobId])); cell(row, q.repo); cell(row, q.profile); cell(row, age(s.now - q.receivedAt)); });
  fill('running', s.running, (row, r) => { cell(row, jobLink(r.jobId, details[r.jobId])); cell(row, r.repo); cell(row, r.profile); cell(row, r.runnerName); cell(row, r.busy ? 'in progress' : r.container ? 'waiting for its job' : 'starting'); cell(row, age(s.now - r.startedAt)); });
  await Promise.all(s.recent.filter((j) => !timelines.has(j.jobId) || j.stage !== 'cleaned').map(async (j) => {
    try { timelines.set(j.jobId, await json('/jobs/' + j.jobId)); } catch { /* fell out of the timeline */ }
  }));
  fill('recent', s.recent, (row, j) => {
    const d = details[j.jobId] || {};
    row.dataset.job = String(j.jobId);
    cell(row, jobLink(j.jobId, d));
    cell(row, d.workflow ? d.workflow + (d.name ? ' / ' + d.name : '') : d.name);
    cell(row, j.repo);
    cell(row, j.stage, j.stage === 'failed' ? 'bad' : '');
    cell(row, d.conclusion, d.conclusion && d.conclusion !== 'success' ? 'bad' : 'ok');
    cell(row, bar(timelines.get(j.jobId)));
  });
}
refresh();
setInterval(refresh, Number(new URLSearchParams(location.search).get('every') || 5) * 1000);
`;
