// Replacing a file in a folder a job can write (a lane's auth folder): the job may swap the temp file for a symlink
// between its creation and its rename; the chown that gives the copy to the container user must never reach the file
// that symlink points at. Giving a file to another uid takes root, so the race is tried where the test runs as root.
import { watch } from 'node:fs';
import { lstatSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { replaceFileAtomically } from '../../lane-contract/atomic-file.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'factory-e-atomic-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('replacing a file in a folder a job can write', () => {
  it.runIf(process.getuid?.() === 0)(
    'a temp file swapped for a symlink never redirects the chown to the file it points at',
    async () => {
      const victim = join(dir, 'victim');
      writeFileSync(victim, 'host file\n', { mode: 0o600 });
      const jobFolder = join(dir, 'auth');
      mkdirSync(jobFolder);
      // The job: whenever a temp file appears, replace it with a symlink to the victim.
      const watcher = watch(jobFolder, (_event, name) => {
        if (!name?.endsWith('.tmp')) return;
        try {
          if (lstatSync(join(jobFolder, name)).isSymbolicLink()) return; // its own swap
          unlinkSync(join(jobFolder, name));
          symlinkSync(victim, join(jobFolder, name));
        } catch {
          // gone already, or already swapped
        }
      });
      try {
        for (let i = 0; i < 20; i++) {
          await replaceFileAtomically(join(jobFolder, 'auth.json'), `{"n":${i}}`.repeat(20_000), {
            mode: 0o600,
            owner: { uid: 1000, gid: 1000 },
          }).catch(() => undefined);
        }
      } finally {
        watcher.close();
      }
      expect(statSync(victim).uid).toBe(0);
      expect(statSync(victim).gid).toBe(0);
    },
  );

  it('the new file has the mode and owner asked for, and replaces a symlink at the target instead of writing through it', async () => {
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'host file\n', { mode: 0o600 });
    symlinkSync(victim, join(dir, 'auth.json'));
    const me = { uid: process.getuid!(), gid: process.getgid!() };
    await replaceFileAtomically(join(dir, 'auth.json'), 'released\n', { mode: 0o640, owner: me });
    const s = statSync(join(dir, 'auth.json'));
    expect(s.isFile()).toBe(true);
    expect(s.mode & 0o777).toBe(0o640);
    expect(s.uid).toBe(me.uid);
    expect(statSync(victim).size).toBe('host file\n'.length);
  });
});
