// A data mount waits for the release behind its target's parent folder: which folders may be one, and the gates a
// profile gets.
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../controller/config/config.js';
import { dataGates } from '../../controller/config/data-gate.js';
import { dataGateDir, laneMounts } from '../../controller/lanes/lane-layout.js';

function problems(profile: Record<string, unknown>): string[] {
  const r = parseConfig(
    stringify({
      github: { auth: { tokenEnv: 'T' }, webhook: { secret: { env: 'S' } } },
      profiles: { lane: { labels: ['self-hosted', 'factory', 'lane'], image: 'lane:1', trusted: true, ...profile } },
      repos: [{ repo: 'o/r', profiles: ['lane'] }],
    }),
  );
  return r.ok ? [] : r.problems;
}
const data = (target: string) => ({ kind: 'data', source: '/srv/store', target });

describe('data gates', () => {
  it('gives data mounts that share a folder one gate, and each other folder its own', () => {
    const mounts = [data('/data/pkm'), { kind: 'workspace' }, data('/data/pkm-agent/'), data('/srv/graph/index')];
    expect(dataGates({ mounts } as never)).toEqual([
      {
        path: '/data',
        mounts: [
          { index: 0, target: '/data/pkm', name: 'pkm' },
          { index: 2, target: '/data/pkm-agent', name: 'pkm-agent' },
        ],
      },
      { path: '/srv/graph', mounts: [{ index: 3, target: '/srv/graph/index', name: 'index' }] },
    ]);
  });

  it("binds each gate read-only from the job's folder over the folder its data sits in, and each store read-only", () => {
    const r = parseConfig(
      stringify({
        github: { auth: { tokenEnv: 'T' }, webhook: { secret: { env: 'S' } } },
        stateDir: '/var/lib/factory',
        profiles: {
          lane: {
            labels: ['self-hosted', 'factory', 'lane'],
            image: 'lane:1',
            trusted: true,
            mounts: [data('/data/pkm'), data('/data/pkm-agent')],
          },
        },
        repos: [{ repo: 'o/r', profiles: ['lane'] }],
      }),
    );
    if (!r.ok) throw new Error(r.problems.join('; '));
    const { mounts } = laneMounts(r.config, 'lane', r.config.profiles.lane!, 'o/r', 'run-1');
    expect(mounts.filter((m) => m.Target.startsWith('/data'))).toEqual([
      { Type: 'bind', Source: '/srv/store', Target: '/data/pkm', ReadOnly: true },
      { Type: 'bind', Source: '/srv/store', Target: '/data/pkm-agent', ReadOnly: true },
      { Type: 'bind', Source: dataGateDir(r.config, 'run-1', 0), Target: '/data', ReadOnly: true },
    ]);
  });

  it('accepts data in folders of its own', () => {
    expect(problems({ mounts: [data('/data/pkm'), data('/data/pkm-agent'), data('/home/runner/data/graph')] })).toEqual(
      [],
    );
  });

  it.each([
    ['/opt/pkm-agent', '/opt'],
    ['/pkm', '/'],
    ['/home/runner/pkm', '/home/runner'],
    ['/usr/share/pkm', '/usr/share'],
    ['/factory/pkm', '/factory'],
  ])('refuses %s: its folder %s is the image’s own', (target, gate) => {
    expect(problems({ mounts: [data(target)] })).toEqual([
      `profiles.lane.mounts[0].target: a data mount's folder stays closed until the release and hides what the image has there, and ${gate} is the image's own: put the data in a folder of its own, such as /data/${target.split('/').pop()}`,
    ]);
  });

  it('refuses a data folder that holds or sits in another mount or another data folder', () => {
    expect(problems({ mounts: [{ kind: 'workspace', target: '/work' }, data('/work/pkm')] })).toEqual([
      `profiles.lane.mounts[1].target: a data mount's folder stays closed until the release and hides what the image has there, and /work overlaps mounts[0] (/work): put the data in a folder of its own, such as /data/pkm`,
    ]);
    expect(problems({ mounts: [data('/data/pkm'), data('/data/pkm/notes')] })).toHaveLength(2);
  });

  it('refuses a capability that passes a closed folder on a profile with data mounts', () => {
    expect(problems({ mounts: [data('/data/pkm')], capAdd: ['CAP_DAC_READ_SEARCH'] })).toEqual([
      'profiles.lane.capAdd: CAP_DAC_READ_SEARCH passes the closed folder that keeps the data mounts until the release: drop it',
    ]);
    expect(problems({ mounts: [data('/data/pkm')], capAdd: ['SYS_ADMIN'] })).toHaveLength(1);
    expect(problems({ capAdd: ['DAC_OVERRIDE'] })).toEqual([]);
  });
});
