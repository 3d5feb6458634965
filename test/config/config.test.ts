// factory.yml: every problem named with its path, and the CLI refusing what the schema refuses.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../controller/config/config.js';
import { main } from '../../controller/commands/cli.js';

const VALID = `
github:
  auth: { tokenEnv: GH_TOKEN }
  webhook: { secret: { env: WEBHOOK_SECRET } }
profiles:
  ci: { labels: [self-hosted, factory, ci], image: factory/repo-aina-platform:1, memory: 2g }
repos:
  - repo: ainative-academy/aina-platform
    profiles: [ci]
`;

const problemsOf = (text: string) => {
  const r = parseConfig(text);
  if (r.ok) throw new Error('expected problems');
  return r.problems;
};

describe('config', () => {
  it('fills defaults for a minimal valid file', () => {
    const r = parseConfig(VALID);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.github.apiUrl).toBe('https://api.github.com');
    expect(r.config.github.webhook).toMatchObject({ port: 8080, path: '/webhook' });
    expect(r.config.profiles.ci).toMatchObject({ memory: 2 * 1024 ** 3, network: 'bridge', cpus: 2 });
    expect(r.config).toMatchObject({
      maxConcurrent: 4,
      bootTimeout: 300_000,
      jobTimeout: 21_600_000,
      instance: 'default',
    });
  });

  it('names the path of a malformed repo', () => {
    const text = VALID.replace('repo: ainative-academy/aina-platform', 'repo: aina-platform');
    expect(problemsOf(text)).toEqual(['repos[0].repo: expected "owner/name", got "aina-platform"']);
  });

  it('lists every problem at once, each with its path', () => {
    const text = `
github:
  apiUrl: not a url
  auth: { tokenEnv: GH_TOKEN }
  webhook: { port: "8080", secret: { env: WEBHOOK_SECRET } }
bootTimeout: soon
profiles:
  ci: { labels: [self-hosted], image: x, memory: lots }
repos:
  - { repo: a/b, profiles: [ci, gpu] }
  - { repo: a/b, profiles: [ci], maxConcurent: 2 }
`;
    expect(problemsOf(text)).toEqual([
      'github.apiUrl: expected an http(s) URL, got "not a url"',
      'github.webhook.port: expected number, received string',
      'bootTimeout: expected a duration such as "90s", "5m" or "6h", got "soon"',
      'profiles.ci.memory: expected a size such as "512m" or "4g", got "lots"',
      'repos[1]: Unrecognized key: "maxConcurent"',
      // Cross-section checks run even though the shape is wrong elsewhere, so one run names everything.
      'repos[0].profiles[1]: unknown profile "gpu" (defined: ci)',
      'repos[1].repo: a/b is already configured at repos[0]',
    ]);
  });

  it('gives the line of each problem, the line of the key for an unknown key', () => {
    const r = parseConfig(VALID.replace('    profiles: [ci]', '    profiles: [ci, gpu]\n    maxConcurent: 3'));
    expect(!r.ok && r.details).toEqual([
      { line: 10, path: 'repos[0]', message: 'Unrecognized key: "maxConcurent"' },
      { line: 9, path: 'repos[0].profiles[1]', message: 'unknown profile "gpu" (defined: ci)' },
    ]);
  });

  it('reports unknown profiles and repeated repos once the shape is right', () => {
    const text =
      VALID.replace('profiles: [ci]', 'profiles: [ci, gpu]') +
      '  - { repo: AINative-Academy/aina-platform, profiles: [ci] }\n';
    expect(problemsOf(text)).toEqual([
      'repos[0].profiles[1]: unknown profile "gpu" (defined: ci)',
      'repos[1].repo: AINative-Academy/aina-platform is already configured at repos[0]',
    ]);
  });

  it('refuses a literal token: secrets are named by env or file', () => {
    const text = VALID.replace('auth: { tokenEnv: GH_TOKEN }', 'auth: { token: ghp_abc }');
    expect(problemsOf(text).join('\n')).toMatch(/github\.auth: .*"token"/);
  });

  it('takes intake scaleset without a webhook: no port is opened for GitHub', () => {
    const r = parseConfig(VALID.replace('  webhook: { secret: { env: WEBHOOK_SECRET } }\n', '') + 'intake: scaleset\n');
    expect(r.ok && r.config.github.webhook).toBeUndefined();
    expect(r.ok && r.config.intake).toBe('scaleset');
  });

  it('refuses intake webhook without a webhook, naming github.webhook', () => {
    const text = VALID.replace('  webhook: { secret: { env: WEBHOOK_SECRET } }\n', '');
    expect(problemsOf(text)).toEqual([
      'github.webhook: intake webhook needs github.webhook { host, port, path, secret }, where GitHub delivers workflow_job events; or set intake: scaleset, which needs no inbound port',
    ]);
  });

  it('points at the line of a YAML syntax error', () => {
    expect(problemsOf('github:\n  auth: [\n')[0]).toMatch(/^factory\.yml:3: Flow sequence/);
  });
});

describe('factory validate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'factory-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const run = async (argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(argv, { stdout: (s) => out.push(s), stderr: (s) => err.push(s) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };

  it('exits 0 for a valid file', async () => {
    writeFileSync(join(dir, 'ok.yml'), VALID);
    const r = await run(['validate', '--config', join(dir, 'ok.yml')]);
    expect(r).toMatchObject({ code: 0 });
    expect(r.out).toContain('ok (1 repo(s), 1 profile(s))');
  });

  it('exits non-zero and prints each problem with its path', async () => {
    writeFileSync(join(dir, 'bad.yml'), VALID.replace('repo: ainative-academy/aina-platform', 'repo: aina-platform'));
    const r = await run(['validate', '--config', join(dir, 'bad.yml')]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${join(dir, 'bad.yml')}:8: repos[0].repo: expected "owner/name", got "aina-platform"`);
  });

  it('refuses to start the controller on an invalid file with the same messages', async () => {
    const r = await run(['controller', '--config', join(dir, 'bad.yml')]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('refusing to start');
    expect(r.err).toContain('repos[0].repo: expected "owner/name", got "aina-platform"');
  });

  it('refuses a lane profile with host mounts on swarm unless a placement pins it to a node', async () => {
    const lane = VALID.replace(
      'profiles:\n',
      'profiles:\n  claude: { labels: [self-hosted, claude], image: lane:1, trusted: true, mounts: [{ kind: secrets, source: /srv/secrets }], PLACEMENT }\n',
    );
    const file = (name: string, text: string) => (writeFileSync(join(dir, name), text), join(dir, name));

    const unpinned = await run([
      'validate',
      '--config',
      file('swarm-unpinned.yml', `backend: swarm\n${lane.replace(', PLACEMENT', '')}`),
    ]);
    const loose = await run([
      'validate',
      '--config',
      file('swarm-loose.yml', `backend: swarm\n${lane.replace('PLACEMENT', 'placement: ["node.role == worker"]')}`),
    ]);
    const pinned = await run([
      'validate',
      '--config',
      file('swarm-pinned.yml', `backend: swarm\n${lane.replace('PLACEMENT', 'placement: ["node.hostname == vps-1"]')}`),
    ]);
    const local = await run(['validate', '--config', file('docker-unpinned.yml', lane.replace(', PLACEMENT', ''))]);

    expect(unpinned.code).toBe(1);
    expect(unpinned.err).toContain(
      'profiles.claude.placement: profile "claude" has secrets mounts and backend is swarm: add a placement that pins it',
    );
    expect(loose.code).toBe(1);
    expect([pinned.code, local.code]).toEqual([0, 0]);
  });

  it('names a backend it does not know', () => {
    expect(problemsOf(`backend: kubernetes\n${VALID}`)).toEqual([
      'backend: expected docker or swarm, got "kubernetes"',
    ]);
  });

  it('says when the file cannot be read', async () => {
    const r = await run(['validate', '--config', join(dir, 'missing.yml')]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('cannot read config (ENOENT)');
  });
});
