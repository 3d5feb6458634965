// `factory images build` and `factory prune` talk to the engine the config's docker.socketPath names, as the
// controller does, not to Docker's default socket. A stand-in engine on a socket of the test's own records the asks.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../controller/commands/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'factory-socket-'));
const socket = join(dir, 'docker.sock');
const asked: string[] = [];
let engine: Server;

// An engine with nothing on it: empty lists, no image (Docker's own answers and status codes).
beforeAll(async () => {
  engine = createServer((req, res) => {
    const path = new URL(req.url!, 'http://engine').pathname.replace(/^\/v[\d.]+/, '');
    asked.push(`${req.method} ${path}`);
    res.setHeader('content-type', 'application/json');
    if (path === '/containers/json' || path === '/images/json') return res.end('[]');
    if (path === '/volumes') return res.end('{"Volumes":[],"Warnings":[]}');
    res.statusCode = 404;
    res.end(JSON.stringify({ message: `No such image: ${path}` }));
  });
  await new Promise<void>((resolve) => engine.listen(socket, resolve));
});
afterAll(async () => {
  await new Promise((resolve) => engine.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

const config = join(dir, 'factory.yml');
writeFileSync(
  config,
  `github: { auth: { tokenEnv: T }, webhook: { secret: { env: S } } }
stateDir: ${join(dir, 'state')}
docker: { socketPath: ${socket} }
profiles: { ci: { labels: [self-hosted, ci], image: ci } }
repos: [{ repo: o/r, profiles: [ci] }]
`,
);

async function factory(...argv: string[]) {
  const out = { stdout: '', stderr: '' };
  const code = await main(argv, {
    stdout: (s) => void (out.stdout += `${s}\n`),
    stderr: (s) => void (out.stderr += `${s}\n`),
  });
  return { code, ...out };
}

describe("one-shot commands on the config's Docker socket", () => {
  it('factory prune lists what it would remove on that engine', async () => {
    asked.length = 0;

    const result = await factory('prune', '--config', config, '--dry-run');

    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(asked).toEqual(expect.arrayContaining(['GET /containers/json', 'GET /images/json', 'GET /volumes']));
  });

  it('factory images build looks for its distribution image on that engine', async () => {
    asked.length = 0;

    const result = await factory('images', 'build', '--docker-sidecar', '--config', config);

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/distribution image \S+ is not on this Docker engine/);
    expect(asked).toEqual([expect.stringMatching(/^GET \/images\/.+\/json$/)]);
  });

  it('a config named but missing is an error naming it, and no engine is asked', async () => {
    asked.length = 0;
    const missing = join(dir, 'missing.yml');

    const result = await factory('prune', '--config', missing, '--dry-run');

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(missing);
    expect(asked).toEqual([]);
  });
});
