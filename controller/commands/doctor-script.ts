// The checks `factory doctor` runs inside a profile's container, as one POSIX sh script (busybox and Ubuntu alike).
// Each check prints `CHECK|<name>|ok|<detail>` or `CHECK|<name>|fail|<detail>`; values of secrets are never printed.
import type { Profile } from '../config/config.js';
import { AUTH_FILES } from '../../lane-contract/auth-files.js';
import { IN_CONTAINER } from '../../lane-contract/lane-variables.js';

export const DOCTOR_MOUNT = '/factory/doctor';

export interface ExpectedCheck {
  name: string;
  fix: string;
}

const isLoopback = (url: string) => /^https?:\/\/(127\.|localhost|\[::1\])/.test(url);

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

const PRELUDE = `
check() { printf 'CHECK|%s|%s|%s\\n' "$1" "$2" "$3"; }
answers() { # any HTTP answer counts: the service is there, whatever it says
  if command -v curl >/dev/null 2>&1; then curl -sS -m 5 -o /dev/null "$1" 2>/dev/null
  elif command -v wget >/dev/null 2>&1; then timeout 5 wget -q -S -O /dev/null "$1" 2>&1 | grep -q 'HTTP/'
  else node -e 'fetch(process.argv[1],{signal:AbortSignal.timeout(5000)}).then(()=>0,()=>process.exit(1))' "$1"; fi
}
`;

/** The script and the checks it must report; a check missing from the output counts as failed. */
export function doctorScript(profile: Profile, probeToken: string): { script: string; checks: ExpectedCheck[] } {
  const lines: string[] = [PRELUDE];
  const checks: ExpectedCheck[] = [];
  const add = (name: string, fix: string, body: string) => {
    checks.push({ name, fix });
    lines.push(body.replaceAll('$NAME', q(name)));
  };

  for (const m of profile.mounts) {
    if (m.kind === 'auth') {
      const dir = m.agent === 'codex' ? IN_CONTAINER.codexHome : IN_CONTAINER.claudeConfigDir;
      for (const f of AUTH_FILES[m.agent].filter((x) => x.credential)) {
        const path = `${dir}/${f.name}`;
        add(
          `auth ${m.agent} ${f.name}`,
          `log in to ${m.agent} on the host so ${m.source}/${f.name} exists; the controller copies it per job`,
          `f=${q(path)}; if [ ! -f "$f" ]; then check $NAME fail "missing"; ` +
            `elif [ ! -r "$f" ] || [ ! -w "$f" ]; then check $NAME fail "not readable and writable by uid $(id -u)"; ` +
            `else mode=$(stat -c %a "$f"); owner=$(stat -c %u "$f"); ` +
            `case "$mode" in *00) check $NAME ok "readable and writable by uid $owner only (mode $mode)";; *) check $NAME fail "mode $mode lets others read it";; esac; fi`,
        );
      }
    } else if (m.kind === 'secrets') {
      // A listed file the release could not copy (missing on the host, or not a regular file) is named here.
      const listed = (m.files ?? []).map(q).join(' ');
      add(
        `secrets ${m.target}`,
        m.files
          ? `put each listed file in ${m.source} as a regular file readable by the controller; the folder is mounted read-only`
          : `make ${m.source} readable by the container user; it is mounted read-only`,
        `d=${q(m.target)}; n=$(ls -A "$d" 2>/dev/null | wc -l); miss=; ` +
          `for f in ${listed}; do [ -f "$d/$f" ] || miss="$miss $f"; done; ` +
          `if ! ls "$d" >/dev/null 2>&1; then check $NAME fail "not readable"; ` +
          `elif touch "$d/.factory-doctor" 2>/dev/null; then rm -f "$d/.factory-doctor"; check $NAME fail "writable from the container"; ` +
          `elif [ -n "$miss" ]; then check $NAME fail "listed but not released:$miss"; ` +
          `else check $NAME ok "$n entries, read-only"; fi`,
      );
    } else if (m.kind === 'gh') {
      add(
        `gh ${m.target}`,
        `log in with gh on the host (gh auth login) so ${m.source}/hosts.yml exists; it is mounted read-only`,
        `d=${q(m.target)}; if [ ! -r "$d/hosts.yml" ]; then check $NAME fail "no readable hosts.yml"; ` +
          `elif touch "$d/.factory-doctor" 2>/dev/null; then rm -f "$d/.factory-doctor"; check $NAME fail "writable from the container"; ` +
          `else check $NAME ok "hosts.yml readable, read-only"; fi`,
      );
    } else if (m.kind === 'data') {
      add(
        `data ${m.target}`,
        `make ${m.source} readable by the container user`,
        `d=${q(m.target)}; if ls "$d" >/dev/null 2>&1; then check $NAME ok "$(ls -A "$d" | wc -l) entries readable"; else check $NAME fail "not readable"; fi`,
      );
    }
  }
  for (const url of profile.probes) {
    const loopback = isLoopback(url);
    add(
      `probe ${url}`,
      loopback && profile.network !== 'host'
        ? `use network: host so the lane reaches ${url} on the host's loopback`
        : `start the service behind ${url} or fix the URL`,
      `if answers ${q(url)}; then check $NAME ok "answers"; else check $NAME fail "no answer within 5 s (network ${profile.network})"; fi`,
    );
  }
  for (const s of profile.mcp) {
    if ('command' in s) {
      add(
        `mcp ${s.name} command`,
        `install ${s.command} in the image ${profile.image} (stdio MCP servers run inside the lane)`,
        `p=$(command -v ${q(s.command)} 2>/dev/null); if [ -n "$p" ]; then check $NAME ok "$p"; else check $NAME fail "${s.command} not on PATH"; fi`,
      );
    } else {
      if (s.tokenEnv)
        add(
          `mcp ${s.name} token`,
          `set ${s.tokenEnv} through the profile's envFiles (pre-authorise on the host; headless OAuth cannot log in)`,
          `if [ -n "\${${s.tokenEnv}:-}" ]; then check $NAME ok "${s.tokenEnv} is set"; else check $NAME fail "${s.tokenEnv} is not set"; fi`,
        );
      // Any HTTP answer counts (an MCP endpoint answers a bare GET with 401 or 405): the server is there.
      add(
        `mcp ${s.name} reachable`,
        isLoopback(s.url) && profile.network !== 'host'
          ? `use network: host so the lane reaches ${s.url} on the host's loopback`
          : `check ${s.url} and that the lane's network (${profile.network}) reaches it`,
        `if answers ${q(s.url)}; then check $NAME ok "answers"; else check $NAME fail "no answer within 5 s (network ${profile.network})"; fi`,
      );
    }
  }
  add(
    'host path map',
    'set hostPathMap so stateDir, as the controller sees it, maps to the same folder on the Docker host',
    `if [ "$(cat ${DOCTOR_MOUNT}/probe 2>/dev/null)" = ${q(probeToken)} ]; then check $NAME ok "probe file written by the controller read back"; ` +
      `else check $NAME fail "probe file not found through the mapped path"; fi`,
  );
  return { script: lines.join('\n'), checks };
}

export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

/** One row of doctor's report: a check's result and what it covers. */
export interface DoctorRow extends CheckResult {
  scope: string;
  /** Passes, but something will fail later (a workflow that needs what its profile lacks): shown with its fix. */
  warning?: boolean;
}

/** Reads the script's output; every expected check appears once, a silent one as failed. */
export function parseDoctorOutput(output: string, expected: readonly ExpectedCheck[]): CheckResult[] {
  const seen = new Map<string, { ok: boolean; detail: string }>();
  for (const line of output.split('\n')) {
    const m = /^CHECK\|([^|]*)\|(ok|fail)\|(.*)$/.exec(line.trim());
    if (m) seen.set(m[1]!, { ok: m[2] === 'ok', detail: m[3]! });
  }
  return expected.map(({ name, fix }) => {
    const r = seen.get(name) ?? { ok: false, detail: 'no result (the check did not run in the container)' };
    return { name, ...r, ...(r.ok ? {} : { fix }) };
  });
}
