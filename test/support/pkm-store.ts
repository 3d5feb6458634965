// A PKM store the pkm-agent stand-in serves: a SQLite file of notes, written with the host's sqlite3 through Python.
import { execFileSync } from 'node:child_process';
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';

/** Writes `dir/pkm.sqlite` with the notes, readable by the lane's users, and returns its path. */
export async function makePkmStore(dir: string, notes: [title: string, body: string][]): Promise<string> {
  const path = join(dir, 'pkm.sqlite');
  const script = [
    'import json, sqlite3, sys',
    'db = sqlite3.connect(sys.argv[1])',
    'db.execute("CREATE TABLE notes (title TEXT, body TEXT)")',
    'db.executemany("INSERT INTO notes VALUES (?, ?)", json.loads(sys.argv[2]))',
    'db.commit()',
  ].join('\n');
  execFileSync('python3', ['-c', script, path, JSON.stringify(notes)]);
  await chmod(path, 0o644);
  return path;
}
