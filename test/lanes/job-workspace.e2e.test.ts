// Item 4 of the tier boundary: each job writes into its own workspace, owned by the runner user (uid 1000) and gone
// with the job; a cache is shared only when a profile names one. Real containers of the stand-in runner image.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheDir } from '../../controller/lanes/lane-layout.js';
import { CI_LABELS, startHarness, uniqueRepo, waitFor, type Harness } from '../support/harness.js';

let root: string;
let h: Harness | undefined;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'factory-ws-'));
  chmodSync(root, 0o755);
});
afterEach(async () => {
  await h?.stop();
  h = undefined;
  rmSync(root, { recursive: true, force: true });
});

const finished = (harness: Harness, ids: number[]) => () =>
  ids.every((id) => harness.github.jobs.get(id)?.status === 'completed') &&
  harness.service.controller.snapshot().runners.length === 0;

function results(): string {
  const dir = join(root, 'results');
  mkdirSync(dir);
  chmodSync(dir, 0o777);
  return dir;
}

describe('job workspace', () => {
  it('two jobs at once each write as uid 1000 into a workspace of their own, which is removed with the job', async () => {
    const out = results();
    const stateDir = join(root, 'state');
    // What the real runner does at job start: empty _temp and write its file-command files there. A shared workspace
    // would show one job the other's files, or lose its own.
    const job =
      'n=$(cat /proc/sys/kernel/random/uuid); w=/home/runner/_work; mkdir -p $w/_temp && echo $n > $w/_temp/mine && ' +
      'sleep 2 && ls -a $w/_temp > /results/$n.ls && cat $w/_temp/mine > /results/$n.mine && stat -c %u $w > /results/$n.owner; ' +
      'echo $? > /results/$n.exit';
    h = await startHarness({
      repo: uniqueRepo('ws-two'),
      jobSeconds: 1,
      config: { stateDir },
      profile: {
        mounts: [{ kind: 'workspace' }, { kind: 'bind', source: out, target: '/results', mode: 'rw' }],
        env: { STANDIN_JOB_COMMAND: job },
      },
    });
    const ids = [await h.github.queueJob(h.repo, CI_LABELS), await h.github.queueJob(h.repo, CI_LABELS)];
    await waitFor('both jobs', finished(h, ids), 40_000);

    const runs = readdirSync(out)
      .filter((f) => f.endsWith('.mine'))
      .map((f) => f.slice(0, -'.mine'.length));
    expect(runs).toHaveLength(2);
    for (const n of runs) {
      expect(readFileSync(join(out, `${n}.mine`), 'utf8')).toBe(`${n}\n`);
      expect(
        readFileSync(join(out, `${n}.ls`), 'utf8')
          .split('\n')
          .filter(Boolean),
      ).toEqual(['.', '..', 'mine']);
      expect(readFileSync(join(out, `${n}.owner`), 'utf8')).toBe('1000\n');
      expect(readFileSync(join(out, `${n}.exit`), 'utf8')).toBe('0\n');
    }
    const order = h.stages.filter((s) => s.stage === 'container-started' || s.stage === 'cleaned').map((s) => s.stage);
    expect(order.slice(0, 2)).toEqual(['container-started', 'container-started']); // they did overlap
    expect(readdirSync(join(stateDir, 'jobs'))).toEqual([]);
  });

  it('keeps a named cache between jobs of the repo and profile, owned by the runner user', async () => {
    const stateDir = join(root, 'state');
    const job = 'echo run >> /cache/runs; wc -l < /cache/runs > /cache/count';
    h = await startHarness({
      repo: uniqueRepo('ws-cache'),
      jobSeconds: 0.2,
      config: { stateDir },
      profile: {
        mounts: [{ kind: 'workspace' }, { kind: 'cache', name: 'pnpm', target: '/cache' }],
        env: { STANDIN_JOB_COMMAND: job },
      },
    });
    const first = await h.github.queueJob(h.repo, CI_LABELS);
    await waitFor('the first job', finished(h, [first]));
    const second = await h.github.queueJob(h.repo, CI_LABELS);
    await waitFor('the second job', finished(h, [second]));

    const cache = cacheDir(h.config, h.repo, 'ci', 'pnpm');
    expect(readFileSync(join(cache, 'count'), 'utf8').trim()).toBe('2');
    expect(statSync(join(cache, 'runs')).uid).toBe(1000);
    expect(cacheDir(h.config, h.repo, 'lane', 'pnpm')).not.toBe(cache); // another profile of the repo gets another cache
  });
});
