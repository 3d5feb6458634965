// factory/base built for real (the e2e globalSetup builds it once per machine; reused while its inputs are unchanged) and
// proven from inside, as the runner user: every tool runs, chromium renders headless, and each stdio MCP server of
// the Tier-3 lane answers the official MCP client's initialize and tools/list.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INPUTS_LABEL } from '../../controller/images/image-builder.js';
import { ensureLocalBase } from '../support/local-base.js';
import { offlineRunArgs, mcpInContainer, removeLabelled, runLabel } from '../support/offline-run.js';
import { makePkmStore } from '../support/pkm-store.js';

const docker = new Docker();
const fixtures = join(import.meta.dirname, '../fixtures');
const RUN_LABEL = runLabel('images');
let image: string;
let dir: string;
let store: string;

beforeAll(async () => {
  image = await ensureLocalBase(docker);
  dir = await mkdtemp(join(tmpdir(), 'factory-base-test-'));
  store = await makePkmStore(dir, [['Paperclip', 'the org API listens on 127.0.0.1:3100']]);
}, 30 * 60_000);

afterAll(async () => {
  await removeLabelled(docker, RUN_LABEL);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** `docker run` as the runner user, without a network: the image alone has to be enough. */
const asRunner = (mounts: string[] = [], env: Record<string, string> = {}) => ({
  image,
  user: '1000:1000',
  mounts,
  env,
});

function inImage(script: string): string {
  return execFileSync('docker', [...offlineRunArgs(RUN_LABEL, asRunner()), 'bash', '-c', script], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

describe('factory/base, built here from the local Debian', () => {
  // Its audit (no credential in any layer) runs when it is built, by factory images build or ensureLocalBase.
  it('carries its inputs hash and runs as the runner user', async () => {
    const info = await docker.getImage(image).inspect();
    expect(info.Config.Labels[INPUTS_LABEL]).toMatch(/^[0-9a-f]{64}$/);
    expect(info.Config.User).toBe('runner');
  });

  it('runs every tool as uid 1000, with an agent user 1001 beside the runner', () => {
    const out = inImage(
      [
        'id -u; id -u agent',
        'node --version; pnpm --version; codex --version; claude --version; codegraph --version; playwright-mcp --version',
        'gh --version | head -1; git --version; python3 --version; uv --version; tini --version; chromium --version',
        'github-mcp-server --version; test -x /home/runner/run.sh && echo run.sh-ok',
      ].join('\n'),
    );
    const lines = out.trim().split('\n');
    expect(lines.slice(0, 2)).toEqual(['1000', '1001']);
    expect(lines[2]).toMatch(/^v2\d\.\d+\.\d+$/);
    expect(lines.slice(3, 8)).toEqual([
      '10.11.0',
      'codex-cli 0.169.0',
      '2.1.197 (Claude Code)',
      '1.6.1',
      'Version 0.0.83',
    ]);
    expect(lines.slice(8)).toEqual([
      expect.stringMatching(/^gh version \d/),
      expect.stringMatching(/^git version \d/),
      expect.stringMatching(/^Python 3\.\d+/),
      expect.stringMatching(/^uv /),
      expect.stringMatching(/^tini version \d/),
      expect.stringMatching(/^Chromium \d+/),
      expect.stringMatching(/^github-mcp-server /),
      'run.sh-ok',
    ]);
  });

  it('renders a page in headless chromium', () => {
    const dom = inImage(
      'chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --dump-dom "data:text/html,<p>rendered by chromium</p>" 2>/dev/null',
    );
    expect(dom).toContain('<p>rendered by chromium</p>');
  });
});

describe('the Tier-3 stdio MCP servers, through the official MCP client', () => {
  const servers: [
    name: string,
    mounts: () => string[],
    command: string[],
    env: Record<string, string>,
    tool: string,
  ][] = [
    ['codegraph', () => [], ['codegraph', 'serve', '--mcp', '--no-watch'], {}, 'codegraph_explore'],
    ['playwright', () => [], ['playwright-mcp', '--headless', '--no-sandbox', '--isolated'], {}, 'browser_navigate'],
    [
      'github',
      () => [],
      ['github-mcp-server', 'stdio'],
      { GITHUB_PERSONAL_ACCESS_TOKEN: 'not-a-real-token' },
      'create_pull_request',
    ],
    [
      'pkm-agent',
      () => [`${join(fixtures, 'pkm-agent')}:/home/runner/pkm-agent:ro`, `${store}:/srv/pkm/pkm.sqlite:ro`],
      ['uv', '--directory', '/home/runner/pkm-agent', 'run', 'server.py'],
      {},
      'search_notes',
    ],
  ];

  it.each(servers)(
    '%s answers initialize and tools/list',
    async (name, mounts, command, env, tool) => {
      const client = await mcpInContainer(RUN_LABEL, asRunner(mounts(), env), command);
      try {
        expect(client.getServerVersion()?.name).toBeTruthy();
        const { tools } = await client.listTools();
        expect(tools.map((t) => t.name)).toContain(tool);
      } finally {
        await client.close();
      }
    },
    120_000,
  );

  it('playwright drives the distribution chromium to a page', async () => {
    const client = await mcpInContainer(RUN_LABEL, asRunner(), [
      'playwright-mcp',
      '--headless',
      '--no-sandbox',
      '--isolated',
    ]);
    try {
      const result = (await client.callTool({
        name: 'browser_navigate',
        arguments: { url: 'data:text/html,<title>factory lane</title><p>hello</p>' },
      })) as { content: { text?: string }[] };
      expect(result.content.map((c) => c.text ?? '').join('\n')).toContain('factory lane');
    } finally {
      await client.close();
    }
  }, 120_000);

  it('pkm-agent reads the read-only PKM store', async () => {
    const client = await mcpInContainer(
      RUN_LABEL,
      asRunner([`${join(fixtures, 'pkm-agent')}:/home/runner/pkm-agent:ro`, `${store}:/srv/pkm/pkm.sqlite:ro`]),
      ['uv', '--directory', '/home/runner/pkm-agent', 'run', 'server.py'],
    );
    try {
      const result = (await client.callTool({ name: 'search_notes', arguments: { query: 'Paperclip' } })) as {
        content: { text: string }[];
      };
      expect(result.content[0]!.text).toBe('Paperclip: the org API listens on 127.0.0.1:3100');
    } finally {
      await client.close();
    }
  }, 60_000);
});
