// A lane behind egress says what its gateway refused where people look: the check run and the job summary read
// "blocked: pastebin.test:443 ×3", with names a DNS tunnel spelled data into folded to their domain, and a gateway
// that cannot be read said so instead of "nothing blocked".
import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { egressLine } from '../../actions/lane-core/egress-blocked.js';
import type { LaneGitHub } from '../../actions/lane-core/lane-github.js';
import { deliverReports } from '../../actions/lane-core/lane-report.js';
import type { LaneResult } from '../../actions/lane-core/lane-run.js';
import { summaryMarkdown } from '../../actions/lane-core/summary-markdown.js';
import { publicDestinations } from '../../lane-contract/egress-refusals.js';

const d = (host: string, port: number, count: number) => ({ host, port, count, first: '2026-01-01T00:00:00Z' });

/** The gateway's endpoint as it answers, on loopback. */
async function gateway(body: string, status = 200) {
  const server = createServer((_req, res) => res.writeHead(status).end(body));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/.factory/egress-refusals`;
  return { url, close: () => new Promise((r) => server.close(r)) };
}

const result = (egress?: string): LaneResult => ({
  agent: 'claude',
  mode: 'review',
  conclusion: 'success',
  answer: 'fine',
  findings: [],
  usage: { inputTokens: 1, outputTokens: 1, cachedInputTokens: 0, durationMs: 1000, turns: 1 },
  budget: { wallClockMinutes: 30 },
  transcriptPath: '/t',
  writeBack: [],
  progress: [],
  scrub: (t) => t,
  ...(egress ? { egress } : {}),
});

describe("the lane's egress line", () => {
  it('reads the gateway list into one line, most refused first', async () => {
    const g = await gateway(JSON.stringify({ blocked: [d('pastebin.test', 443, 3), d('evil.test', 80, 1)], more: 0 }));
    expect(await egressLine(g.url)).toBe('blocked: pastebin.test:443 ×3, evil.test:80');
    await g.close();
  });

  it('says nothing was blocked, and nothing at all for a lane without egress', async () => {
    const g = await gateway(JSON.stringify({ blocked: [], more: 0 }));
    expect(await egressLine(g.url)).toBe('nothing blocked');
    expect(await egressLine(undefined)).toBeUndefined();
    await g.close();
  });

  it('says so when the list cannot be read, instead of nothing blocked', async () => {
    const g = await gateway('not json');
    expect(await egressLine(g.url)).toMatch(/could not be read \(not its answer\)/);
    await g.close();
    expect(await egressLine(g.url)).toMatch(/could not be read/);
  });

  it('folds names a DNS tunnel spells data into to their domain', () => {
    expect(
      publicDestinations([
        d('mzxw6ytboi.c2vjcmv0.x.tunnel.test', 53, 1),
        d('bmv4dc1jahvuaw2xvbgqgywr2zq.tunnel.test', 53, 1),
        d('api.github.com', 443, 2),
      ]).map((x) => `${x.host}:${x.port} ${x.count}`),
    ).toEqual(['*.tunnel.test:53 2', 'api.github.com:443 2']);
  });
});

describe('where the line shows', () => {
  it('in the job summary table and the check run summary', async () => {
    expect(summaryMarkdown('agent-lane: claude', result('blocked: pastebin.test:443 ×3'))).toContain(
      '| egress | blocked: pastebin.test:443 ×3 |',
    );
    const runs: Array<{ output: { summary: string } }> = [];
    const gh = {
      async createCheckRun(run: { output: { summary: string } }) {
        runs.push(run);
        return { id: 1, html_url: null };
      },
    } as unknown as LaneGitHub;
    await deliverReports(
      result('blocked: pastebin.test:443 ×3'),
      ['check'],
      { owner: 'o', repo: 'r', pullNumber: 1, headSha: 'a'.repeat(40) },
      { title: 't', commentKey: 'k', checkName: 'c' },
      { writeSummary: async () => {}, warn: () => {}, github: gh },
    );
    expect(runs[0]!.output.summary).toContain('**egress** blocked: pastebin.test:443 ×3');
  });
});
