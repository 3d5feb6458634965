// The own-Docker opt-in at the config edge: what it may not combine with, what it defaults to, and what
// `factory validate` says about a privileged sidecar.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { parseConfig } from '../../controller/config/config.js';
import { main } from '../../controller/commands/cli.js';

const root = mkdtempSync(join(tmpdir(), 'factory-jobdocker-gate-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function config(ci: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    github: { auth: { tokenEnv: 'T' }, webhook: { secret: { env: 'S' } } },
    stateDir: join(root, 'state'),
    profiles: { ci: { labels: ['self-hosted', 'factory', 'docker'], image: 'ci:1', ...ci } },
    repos: [{ repo: 'o/r', profiles: ['ci'] }],
    ...extra,
  };
}
const parsed = (ci: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  parseConfig(stringify(config(ci, extra)));
const problems = (ci: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
  const r = parsed(ci, extra);
  return r.ok ? [] : r.problems;
};

describe('docker: { sidecar: true } on a profile', () => {
  it('is rootless with 10g of storage and 2g for the daemon unless told otherwise, on an untrusted profile', () => {
    const r = parsed({ docker: { sidecar: true } });
    expect(r.ok && r.config.profiles.ci!.docker).toEqual({
      sidecar: true,
      mode: 'rootless',
      storage: 10 * 1024 ** 3,
      memory: 2 * 1024 ** 3,
    });
  });

  it('refuses a privileged sidecar without a reason, and names it host-root-equivalent', () => {
    expect(problems({ docker: { sidecar: true, mode: 'privileged' } })).toEqual([
      'profiles.ci.docker.reason: profile "ci": a privileged Docker sidecar gives the job root on the host (docs/job-docker.md); give a docker.reason, or use mode: rootless',
    ]);
    expect(
      problems({ docker: { sidecar: true, mode: 'privileged', reason: 'the kernel refuses user namespaces' } }),
    ).toEqual([]);
  });

  it("refuses the swarm backend, another container's network, tiny storage and a sidecar that is not asked for", () => {
    expect(problems({ docker: { sidecar: true } }, { backend: 'swarm' })).toEqual([
      expect.stringMatching(/^profiles\.ci\.docker: .*backend swarm cannot place the two together/),
    ]);
    expect(problems({ docker: { sidecar: true }, network: 'container:db' })).toContainEqual(
      expect.stringMatching(/^profiles\.ci\.network: .*would put in another container's/),
    );
    expect(problems({ docker: { sidecar: true, storage: '100m' } })).toEqual([
      expect.stringMatching(/^profiles\.ci\.docker\.storage: expected at least 256m/),
    ]);
    expect(problems({ docker: { sidecar: false } })).toEqual([
      expect.stringMatching(/^profiles\.ci\.docker\.sidecar: expected sidecar: true/),
    ]);
  });

  it('factory validate refuses a privileged sidecar without a reason, and names one with its reason as host-root-equivalent', async () => {
    const file = join(root, 'privileged.yml');
    writeFileSync(file, stringify(config({ docker: { sidecar: true, mode: 'privileged' } })));
    const err: string[] = [];
    const code = await main(['validate', '--config', file], { stdout: () => {}, stderr: (s) => err.push(s) });
    expect(code).toBe(1);
    expect(err.join('\n')).toMatch(/privileged Docker sidecar gives the job root on the host/);

    writeFileSync(
      file,
      stringify(config({ docker: { sidecar: true, mode: 'privileged', reason: 'no user namespaces' } })),
    );
    const out: string[] = [];
    expect(await main(['validate', '--config', file], { stdout: (s) => out.push(s), stderr: () => {} })).toBe(0);
    expect(out.join('\n')).toContain(
      'profile ci: privileged Docker sidecar, host-root-equivalent for its jobs (docs/job-docker.md); reason: no user namespaces',
    );
  });
});
