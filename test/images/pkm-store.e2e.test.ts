// The PKM store under concurrent lanes: a WAL-mode SQLite file that the host keeps writing, read by several lane
// containers at once through a read-only data mount, with factory/base's own python3 sqlite3 (what pkm-agent uses).
import { randomBytes } from 'node:crypto';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureLocalBase } from '../support/local-base.js';
import { offlineRunArgs, removeLabelled, runLabel } from '../support/offline-run.js';

const docker = new Docker();
const run = promisify(execFile);
const RUN_LABEL = runLabel('pkm-store');
let image: string;
let dir: string;

// The host's writer: WAL mode, the connection held open (so -wal and -shm exist), a note committed every 20 ms until
// the stop file appears, then closed, which checkpoints and removes -wal and -shm.
const WRITER = `
import os, sqlite3, sys, time
path, stop = sys.argv[1], sys.argv[2]
db = sqlite3.connect(path)
db.execute("PRAGMA journal_mode=WAL")
db.execute("CREATE TABLE IF NOT EXISTS notes (title TEXT, body TEXT)")
db.execute("INSERT INTO notes VALUES ('Paperclip', 'the org API listens on 127.0.0.1:3100')")
db.commit()
os.chmod(path + "-wal", 0o644); os.chmod(path + "-shm", 0o644)
print("ready", flush=True)
i = 0
while not os.path.exists(stop):
    i += 1
    db.execute("INSERT INTO notes VALUES (?, ?)", (f"note {i}", "written while lanes read"))
    db.commit()
    time.sleep(0.02)
db.close()
`;

// A lane's reader: the store opened read-only, as many reads as asked, each count recorded; any error is reported.
const READER = `
import json, sqlite3, sys, time
counts, errors = [], []
try:
    db = sqlite3.connect("file:/data/pkm/pkm.sqlite?" + sys.argv[2], uri=True)
    for _ in range(int(sys.argv[1])):
        counts.append(db.execute("SELECT count(*) FROM notes").fetchone()[0])
        time.sleep(0.05)
    mode = db.execute("PRAGMA journal_mode").fetchone()[0]
except Exception as e:
    errors.append(f"{type(e).__name__}: {e}"); mode = None
print(json.dumps({"counts": counts, "errors": errors, "mode": mode}))
`;

async function readInLane(
  reads: number,
  query = 'mode=ro',
): Promise<{ counts: number[]; errors: string[]; mode: string | null }> {
  const { stdout } = await run('docker', [
    ...offlineRunArgs(RUN_LABEL, { image, user: '1000:1000', mounts: [`${dir}:/data/pkm:ro`] }),
    'python3',
    '-c',
    READER,
    String(reads),
    query,
  ]);
  return JSON.parse(stdout.trim().split('\n').at(-1)!);
}

beforeAll(async () => {
  image = await ensureLocalBase(docker);
  dir = await mkdtemp(join(tmpdir(), 'factory-pkm-store-'));
  await chmod(dir, 0o755);
}, 30 * 60_000);

afterAll(async () => {
  await removeLabelled(docker, RUN_LABEL);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the PKM store on a read-only data mount', () => {
  it('three lanes read a WAL store at once while the host writes it, each seeing the writes land', async () => {
    const stop = join(tmpdir(), `pkm-stop-${randomBytes(4).toString('hex')}`);
    const writer: ChildProcess = spawn('python3', ['-c', WRITER, join(dir, 'pkm.sqlite'), stop], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<number | null>((r) => writer.on('exit', r));
    try {
      await new Promise<void>((resolve) => writer.stdout!.once('data', () => resolve()));
      const readers = await Promise.all([readInLane(40), readInLane(40), readInLane(40)]);
      for (const r of readers) {
        expect(r.errors).toEqual([]);
        expect(r.mode).toBe('wal');
        // Each read is a consistent snapshot: never fewer notes than the one before, and the writer's notes arrive.
        expect(r.counts).toEqual([...r.counts].sort((a, b) => a - b));
        expect(r.counts.at(-1)!).toBeGreaterThan(r.counts[0]!);
      }
    } finally {
      await writeFile(stop, '');
      expect(await exited).toBe(0);
      await rm(stop, { force: true });
    }
  });

  // SQLite cannot make the -shm a WAL reader needs on a read-only mount, so with no writer holding the store open a
  // plain read-only open fails; immutable=1 opens it without -shm, which is only safe while nothing writes.
  it('with no writer holding it open, a read-only open fails and an immutable one reads', async () => {
    expect(existsSync(join(dir, 'pkm.sqlite-shm'))).toBe(false);
    expect((await readInLane(1)).errors).toEqual(['OperationalError: unable to open database file']);
    const immutable = await readInLane(2, 'mode=ro&immutable=1');
    expect(immutable.errors).toEqual([]);
    expect(immutable.counts[0]).toBeGreaterThan(1);
  });
});
