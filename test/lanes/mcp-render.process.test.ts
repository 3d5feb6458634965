// The rendered MCP files read back by the real codex and claude CLIs (other programs, so a process test): every
// server of the widest lane profile, with its transport and token variable.
import { afterAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { configSchema, type McpServer } from '../../controller/config/config.js';
import { renderClaudeMcp, renderCodexMcp } from '../../controller/lanes/mcp-render.js';
import { TIER3_PROFILE } from '../support/tier3-profile.js';

const run = promisify(execFile);

describe('MCP rendering, read back by the real CLIs', () => {
  const made: string[] = [];
  const tempDir = (prefix: string) => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    made.push(dir);
    return dir;
  };
  afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const servers = configSchema.shape.profiles.parse({ ci: { labels: ['x'], image: 'x', mcp: TIER3_PROFILE.mcp } }).ci!
    .mcp as McpServer[];

  it('codex lists every rendered server with its transport and token variable', async () => {
    const home = tempDir('factory-codex-home-');
    writeFileSync(join(home, 'config.toml'), renderCodexMcp(servers));
    const { stdout } = await run('node_modules/.bin/codex', ['mcp', 'list', '--json'], {
      env: { ...process.env, CODEX_HOME: home },
    });
    const listed = JSON.parse(stdout) as Array<{ name: string; transport: Record<string, unknown> }>;
    const byName = Object.fromEntries(listed.map((s) => [s.name, s.transport]));

    expect(Object.keys(byName).sort()).toEqual(servers.map((s) => s.name).sort());
    expect(byName['pkm-agent']).toMatchObject({
      type: 'stdio',
      command: 'uv',
      args: ['--directory', '/data/pkm-agent', 'run', 'pkm-agent'],
      env: { PKM_STORE: '/data/pkm' },
    });
    expect(byName.linear).toMatchObject({
      type: 'streamable_http',
      url: 'https://mcp.linear.app/mcp',
      bearer_token_env_var: 'LINEAR_TOKEN',
    });
    expect(byName['cloudflare-docs']).toMatchObject({ type: 'streamable_http', bearer_token_env_var: null });
  });

  it('claude lists every rendered server from the --mcp-config JSON', async () => {
    const project = tempDir('factory-claude-project-');
    const home = join(project, 'home');
    mkdirSync(home);
    // `claude mcp list` reads a project's .mcp.json; servers wait for approval, so it connects to none of them.
    writeFileSync(join(project, '.mcp.json'), renderClaudeMcp(servers));
    const { stdout } = await run(join(process.cwd(), 'node_modules/.bin/claude'), ['mcp', 'list'], {
      cwd: project,
      env: { ...process.env, HOME: home, CLAUDE_CONFIG_DIR: join(home, '.claude') },
      timeout: 60_000,
    });

    for (const s of servers) expect(stdout).toMatch(new RegExp(`^${s.name}: `, 'm'));
    expect(stdout).toMatch(/^linear: https:\/\/mcp\.linear\.app\/mcp \(HTTP\)/m);
    expect(stdout).toMatch(/^codegraph: codegraph serve --mcp --no-watch/m);
    expect(JSON.parse(renderClaudeMcp(servers)).mcpServers.linear.headers).toEqual({
      Authorization: 'Bearer ${LINEAR_TOKEN}',
    });
  }, 90_000);
});
