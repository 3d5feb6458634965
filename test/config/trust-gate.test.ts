// Item 2 of the tier boundary, at the config edge: what an untrusted (Tier-1) profile may not carry, however the
// path is spelled, and limits that would mean "unlimited". Symlinks are real ones on this filesystem.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { parseConfig } from '../../controller/config/config.js';
import { matchProfile } from '../../controller/daemon/profile-match.js';
import { main } from '../../controller/commands/cli.js';
import { watchConfig, type ConfigChange } from '../../controller/config/config-watcher.js';

const root = mkdtempSync(join(tmpdir(), 'factory-gate-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const stateDir = join(root, 'state');
const secrets = join(root, 'srv', 'secrets');
mkdirSync(stateDir, { recursive: true });
mkdirSync(secrets, { recursive: true });

function config(ci: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    github: { auth: { tokenEnv: 'T' }, webhook: { secret: { env: 'S' } } },
    stateDir,
    profiles: {
      ci: { labels: ['self-hosted', 'factory', 'ci'], image: 'ci:1', ...ci },
      lane: {
        labels: ['self-hosted', 'factory', 'codex'],
        image: 'lane:1',
        trusted: true,
        mounts: [{ kind: 'secrets', source: secrets }],
      },
    },
    repos: [{ repo: 'o/r', profiles: ['ci', 'lane'] }],
    ...extra,
  };
}
const problems = (ci: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
  const r = parseConfig(stringify(config(ci, extra)));
  return r.ok ? [] : r.problems;
};
const bind = (source: string, mode = 'rw') => ({ mounts: [{ kind: 'bind', source, target: '/x', mode }] });

describe('the trust gate for an untrusted profile', () => {
  it.each([
    ['/', '/ (rw)'],
    ['/var/run', '/var/run'],
    ['/run/containerd', 'a folder under /run'],
    ['/etc', '/etc'],
    [stateDir, 'stateDir'],
    [join(stateDir, 'jobs', 'factory-x-1-abc'), 'a job folder under stateDir'],
    [secrets, "a lane's secrets folder"],
    [join(root, 'srv'), "a folder holding a lane's secrets"],
    [`${secrets}/../../srv/./secrets`, 'the secrets folder spelled with .. segments'],
  ])('refuses a bind of %s (%s)', (source) => {
    expect(problems(bind(source))).toEqual([
      expect.stringMatching(
        /^profiles\.ci\.mounts\[0\]\.source: .*(overlaps|Docker socket).*profile "ci" is not trusted/,
      ),
    ]);
  });

  it("refuses a bind of the webhook TLS key's folder, which would let a job impersonate the controller", () => {
    const tlsDir = join(root, 'factory-tls');
    const tls = { certFile: join(tlsDir, 'fullchain.pem'), keyFile: join(tlsDir, 'privkey.pem') };
    const extra = {
      github: { auth: { tokenEnv: 'T' }, webhook: { secret: { env: 'S' }, tls } },
    };
    expect(problems(bind(tlsDir, 'ro'), extra)).toEqual([
      `profiles.ci.mounts[0].source: ${tlsDir} overlaps github.webhook.tls.keyFile ${tls.keyFile}: profile "ci" is not trusted (set trusted: true only on lane profiles)`,
    ]);
    expect(problems(bind(join(root, 'elsewhere'), 'ro'), extra)).toEqual([]);
  });

  it('follows symlinks before it compares: a link to the secrets folder or to /run is refused', () => {
    const links = join(root, 'links');
    mkdirSync(links, { recursive: true });
    symlinkSync(secrets, join(links, 'innocent-cache'));
    symlinkSync('/run', join(links, 'tools'));
    expect(problems(bind(join(links, 'innocent-cache')))).toEqual([
      expect.stringContaining(`overlaps the secrets folder of profile "lane"`),
    ]);
    expect(problems(bind(join(links, 'tools', 'docker.sock')))).toEqual([expect.stringContaining('Docker socket')]);
    expect(problems(bind(join(links, 'tools', 'not-yet-made', '..', 'x')))).toEqual([
      expect.stringContaining('overlaps /run'),
    ]);
  });

  it('checks the Docker host view too: a hostPathMap that lands a harmless path on / is refused', () => {
    mkdirSync(join(root, 'view', 'cache'), { recursive: true });
    const mapped = { hostPathMap: [{ from: join(root, 'view'), to: '/' }] };
    expect(problems(bind(join(root, 'view', 'cache')), mapped)).toEqual([]);
    expect(problems(bind(join(root, 'view')), mapped)).toEqual([expect.stringContaining('(on the host: /)')]);
    const dotted = { hostPathMap: [{ from: join(root, 'view'), to: '/srv/../var/run' }] };
    expect(problems(bind(join(root, 'view', 'cache')), dotted)).toEqual([
      expect.stringContaining('(on the host: /var/run/cache) overlaps'),
    ]);
  });

  it('accepts a plain cache bind outside every sensitive folder', () => {
    mkdirSync(join(root, 'cache'), { recursive: true });
    expect(problems(bind(join(root, 'cache')))).toEqual([]);
  });

  it("refuses another container's network, root and capabilities", () => {
    const untrusted = 'profile "ci" is not trusted (set trusted: true only on lane profiles)';
    expect(problems({ network: 'container:0123abcd', user: '0', capAdd: ['SYS_ADMIN'] })).toEqual([
      `profiles.ci.network: network "container:0123abcd" joins another container's network (and whatever it can reach): ${untrusted}`,
      `profiles.ci.user: user "0" runs the job as root (uid or gid 0): ${untrusted}`,
      `profiles.ci.capAdd: capabilities are added back only for trusted profiles: ${untrusted}`,
    ]);
    expect(problems({ user: '1000:0' })).toEqual([
      expect.stringContaining('profiles.ci.user: user "1000:0" runs the job as root'),
    ]);
  });
});

describe('limits', () => {
  it.each([
    [{ memory: '0' }, /^profiles\.ci\.memory: expected at least 32m .*got 0 bytes$/],
    [{ memory: 0 }, /^profiles\.ci\.memory: expected a size/],
    [{ memory: '2t' }, /^profiles\.ci\.memory: expected at most 1t/],
    [{ cpus: 1e-10 }, /^profiles\.ci\.cpus: expected at least 0\.01 CPUs/],
    [{ cpus: 0 }, /^profiles\.ci\.cpus: expected at least 0\.01 CPUs/],
    [{ cpus: 1e6 }, /^profiles\.ci\.cpus: expected at most 1024 CPUs/],
    [{ pids: 1 }, /^profiles\.ci\.pids: expected at least 32/],
    [{ nofile: 1e9 }, /^profiles\.ci\.nofile: /],
  ])('refuses %j, which Docker would take as unlimited or cannot honour', (limit, message) => {
    expect(problems(limit)).toEqual([expect.stringMatching(message)]);
  });

  it('refuses the same limits on a trusted profile', () => {
    expect(problems({ trusted: true, labels: ['self-hosted', 'gpu'], memory: '0' })).toEqual([
      expect.stringMatching(/^profiles\.ci\.memory: /),
    ]);
  });
});

describe('which jobs a trusted profile serves', () => {
  const parsed = (extra: Record<string, unknown> = {}) => {
    const r = parseConfig(stringify(config({}, extra)));
    if (!r.ok) throw new Error(r.problems.join('\n'));
    return r.config;
  };

  it('never gives a bare [self-hosted] job, or one an untrusted profile covers, to the lane', () => {
    const c = parsed({ repos: [{ repo: 'o/r', profiles: ['lane', 'ci'] }] }); // the lane listed first
    expect(matchProfile(c, 'o/r', ['self-hosted'])?.profileName).toBe('ci');
    expect(matchProfile(c, 'o/r', ['self-hosted', 'factory'])?.profileName).toBe('ci');
    expect(matchProfile(c, 'o/r', ['self-hosted', 'factory', 'codex'])?.profileName).toBe('lane');
    expect(matchProfile(c, 'o/r', ['CODEX'])?.profileName).toBe('lane');
  });

  it('a repo with only a lane profile leaves a bare [self-hosted] job alone', () => {
    const c = parsed({ repos: [{ repo: 'o/r', profiles: ['lane'] }] });
    expect(matchProfile(c, 'o/r', ['self-hosted'])).toBeUndefined();
    expect(matchProfile(c, 'o/r', ['self-hosted', 'factory'])).toBeUndefined();
  });

  it('validate refuses a trusted profile whose every label an untrusted profile also has', () => {
    const text = stringify(config({ labels: ['self-hosted', 'factory', 'codex'] }));
    const r = parseConfig(text);
    expect(r.ok ? [] : r.problems).toEqual([
      'profiles.lane.labels: trusted profile "lane" has no label of its own: every label is "self-hosted" or also on an untrusted profile (ci), so a plain job could get its credentials; add a label such as "lane" to it and to its jobs\' runs-on',
    ]);
  });
});

const BOMB = `github:
  auth: { tokenEnv: T }
  webhook: { secret: { env: S } }
a: &a [x, x, x, x, x, x, x, x, x]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
`;

describe('a YAML alias bomb', () => {
  it('validate reports it as a located problem and exits 1', async () => {
    const file = join(root, 'bomb.yml');
    writeFileSync(file, BOMB);
    const err: string[] = [];
    const code = await main(['validate', '--config', file], { stdout: () => {}, stderr: (s) => err.push(s) });
    expect(code).toBe(1);
    expect(err.join('\n')).toBe(
      `${file}: 1 problem(s)\n  ${file}:5: Excessive alias count indicates a resource exhaustion attack`,
    );
  });

  it('a live edit to one is handed over as a refused change, not dropped', async () => {
    const file = join(root, 'live.yml');
    writeFileSync(file, stringify(config({})));
    let resolve!: (c: ConfigChange | 'nothing') => void;
    const change = new Promise<ConfigChange | 'nothing'>((r) => (resolve = r));
    const watcher = await watchConfig(file, resolve, { debounceMs: 20, signal: false });
    try {
      writeFileSync(file, BOMB);
      const timer = setTimeout(() => resolve('nothing'), 5_000);
      expect(await change).toEqual({
        ok: false,
        reason: 'file',
        problems: [`${file}:5: Excessive alias count indicates a resource exhaustion attack`],
      });
      clearTimeout(timer);
    } finally {
      watcher.stop();
    }
  });
});
