// The pre-flight's wall time for a lane shaped like the example's claude lane: 13 MCP servers, 3 stdio (a node
// script each, as npx-started servers are node) and 10 streamable HTTP on loopback, each asked `initialize` and
// `tools/list`. Beside it, in the same run, the same servers asked one after another: what concurrency saves.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { preflight, MCP_PROBE_TIMEOUT_MS } from '../actions/lane-core/lane-preflight.js';
import { probeMcpServer } from '../actions/lane-core/mcp-probe.js';
import { claudeMcpServers } from '../actions/lane-core/mcp-servers.js';
import type { PrivateHome } from '../actions/lane-core/credential-store.js';
import { startHttpMcpServer, stdioMcpServer } from '../test/support/mcp-stand-ins.js';
import { median } from './stats.js';

const RUNS = 5;
const STDIO = 3;
const HTTP = 10;

export interface PreflightResult {
  servers: number;
  stdio: number;
  http: number;
  concurrentMs: number[];
  sequentialMs: number[];
  medianMs: { concurrent: number; sequential: number };
}

export async function benchPreflight(): Promise<PreflightResult> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-preflight-'));
  const https = await Promise.all(Array.from({ length: HTTP }, () => startHttpMcpServer()));
  try {
    const stdio = stdioMcpServer(dir);
    const mcpServers: Record<string, unknown> = {};
    for (let i = 0; i < STDIO; i++) mcpServers[`stdio-${i}`] = { type: 'stdio', ...stdio, env: {} };
    https.forEach((h, i) => (mcpServers[`http-${i}`] = { type: 'http', url: h.url }));
    const mcpFile = join(dir, 'claude.json');
    writeFileSync(mcpFile, JSON.stringify({ mcpServers }));
    const login = JSON.stringify({
      claudeAiOauth: { accessToken: 'a', refreshToken: 'r', expiresAt: Date.now() + 3600_000 },
    });
    const home: PrivateHome = {
      agent: 'claude',
      dir,
      env: {},
      files: [{ source: join(dir, '.credentials.json'), target: join(dir, 'c'), credential: true, copied: login }],
      fileMode: 0o600,
    };
    const env = { PATH: process.env.PATH ?? '' };
    const concurrentMs: number[] = [];
    const sequentialMs: number[] = [];
    const servers = claudeMcpServers(JSON.stringify({ mcpServers }), env);
    for (let run = 0; run < RUNS; run++) {
      let t = performance.now();
      await preflight({ agent: 'claude', home, mcpFile, env, cwd: dir }, { log: () => undefined });
      concurrentMs.push(performance.now() - t);
      t = performance.now();
      for (const s of servers) await probeMcpServer(s, { env, cwd: dir, timeoutMs: MCP_PROBE_TIMEOUT_MS });
      sequentialMs.push(performance.now() - t);
    }
    return {
      servers: STDIO + HTTP,
      stdio: STDIO,
      http: HTTP,
      concurrentMs,
      sequentialMs,
      medianMs: { concurrent: median(concurrentMs), sequential: median(sequentialMs) },
    };
  } finally {
    await Promise.all(https.map((h) => h.close()));
    rmSync(dir, { recursive: true, force: true });
  }
}
