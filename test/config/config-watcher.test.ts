import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { replaceFileAtomically } from '../../lane-contract/atomic-file.js';
import { watchConfig, type ConfigChange, type ConfigWatcher } from '../../controller/config/config-watcher.js';
import { addRepo } from '../../controller/config/repos-editor.js';

const CONFIG = `github:
  auth: { tokenEnv: GITHUB_TOKEN }
  webhook:
    secret: { env: WEBHOOK_SECRET }
profiles:
  ci: { labels: [factory, ci], image: factory/base:0.1.0 }
repos:
  - repo: ainative-academy/aina-platform
    profiles: [ci]
`;

describe('watchConfig', () => {
  let dir: string;
  let file: string;
  let watcher: ConfigWatcher | undefined;
  let changes: ConfigChange[];
  let waiters: ((c: ConfigChange) => void)[];
  const nextChange = () => new Promise<ConfigChange>((resolve) => waiters.push(resolve));

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'factory-watch-'));
    file = join(dir, 'factory.yml');
    await writeFile(file, CONFIG);
    changes = [];
    waiters = [];
    watcher = await watchConfig(
      file,
      (change) => {
        changes.push(change);
        waiters.shift()?.(change);
      },
      { debounceMs: 20 },
    );
  });

  afterEach(async () => {
    watcher?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('hands over the new config when the file is replaced by a rename, as factory repos does', async () => {
    const edited = addRepo(CONFIG, { repo: 'ainative-academy/aina-academy', profiles: ['ci'] });
    const change = nextChange();
    await replaceFileAtomically(file, edited.ok ? edited.text : '');
    const result = await change;
    expect(result.reason).toBe('file');
    expect(result.ok && result.config.repos.map((r) => r.repo)).toEqual([
      'ainative-academy/aina-platform',
      'ainative-academy/aina-academy',
    ]);
  });

  it('reports a bad new file with its problems, so the caller keeps the old config', async () => {
    const change = nextChange();
    await writeFile(file, CONFIG.replace('profiles: [ci]', 'profiles: [gpu]'));
    expect(await change).toMatchObject({
      ok: false,
      problems: ['repos[0].profiles[0]: unknown profile "gpu" (defined: ci)'],
      reason: 'file',
    });
  });

  it('SIGHUP reloads even when the file did not change', async () => {
    const change = nextChange();
    process.emit('SIGHUP', 'SIGHUP');
    const result = await change;
    expect(result).toMatchObject({ ok: true, reason: 'signal' });
  });

  it('reloads hand over what they read in the order they were asked for, even when an earlier read is slower', async () => {
    watcher!.stop();
    const edited = addRepo(CONFIG, { repo: 'ainative-academy/aina-academy', profiles: ['ci'] });
    let releaseSlowRead!: () => void;
    const slowRead = new Promise<void>((resolve) => (releaseSlowRead = resolve));
    // A disk that answers the first reload's read (the old text) only after the second reload (the edit) asked.
    const answers = [
      async () => CONFIG,
      async () => (await slowRead, CONFIG),
      async () => (edited.ok ? edited.text : ''),
    ];
    watcher = await watchConfig(file, (change) => changes.push(change), {
      signal: false,
      readFile: () => answers.shift()!(),
    });

    const older = watcher.reload();
    const newer = watcher.reload();
    releaseSlowRead();
    await Promise.all([older, newer]);

    expect(changes.map((c) => (c.ok ? c.config.repos.length : c.problems))).toEqual([1, 2]);
  });

  it('a save that changes nothing is not reported, and stop() removes the signal handler', async () => {
    const listeners = process.listenerCount('SIGHUP');
    await writeFile(file, CONFIG);
    // Proving that nothing happens takes time: several debounce periods.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(changes).toEqual([]);
    watcher!.stop();
    expect(process.listenerCount('SIGHUP')).toBe(listeners - 1);
    watcher = undefined;
  });
});
