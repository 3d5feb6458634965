// scripts/release.sh on a local tag in a scratch repository: the dry run checks and prints without changing a thing,
// the real run moves the major tag, and a stale dist/, a stale workflow copy or a wrong version stop it.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

let repo: string;
const env = {
  ...process.env,
  GIT_AUTHOR_NAME: 't',
  GIT_AUTHOR_EMAIL: 't@example.test',
  GIT_COMMITTER_NAME: 't',
  GIT_COMMITTER_EMAIL: 't@example.test',
  BUNDLE_CMD: 'true',
};
const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, env, encoding: 'utf8' }).trim();
const release = (args: string[], extra: Record<string, string> = {}) =>
  spawnSync('scripts/release.sh', args, { cwd: repo, env: { ...env, ...extra }, encoding: 'utf8' });

function commitVersion(version: string, subject: string) {
  writeFileSync(join(repo, 'package.json'), JSON.stringify({ name: 'factory', version }));
  git('add', '-A');
  git('commit', '-qm', subject);
}

beforeEach(() => {
  repo = mkdtempSync(join(tmpdir(), 'factory-release-'));
  git('init', '-q', '-b', 'main');
  mkdirSync(join(repo, 'scripts'));
  cpSync('scripts/release.sh', join(repo, 'scripts/release.sh'));
  cpSync('workflows', join(repo, 'workflows'), { recursive: true });
  cpSync('.github/workflows', join(repo, '.github/workflows'), { recursive: true });
  mkdirSync(join(repo, 'dist/agent-lane'), { recursive: true });
  writeFileSync(join(repo, 'dist/agent-lane/index.js'), 'bundle\n');
  commitVersion('1.0.0', 'First cut');
  git('tag', 'v1.0.0');
});
afterEach(() => rmSync(repo, { recursive: true, force: true }));

describe('scripts/release.sh', () => {
  it('--dry-run prints the notes and the tag it would move, and changes nothing', () => {
    const r = release(['v1.0.0', '--dry-run']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('## factory v1.0.0\n\nFirst release.\n\n- First cut (');
    expect(r.stdout).toContain(`release: would move v1 from nothing to ${git('rev-parse', 'HEAD')}`);
    expect(git('tag', '--list')).toBe('v1.0.0');
  });

  it('moves the major tag to each new release, with the commits since the last one as notes', () => {
    expect(release(['v1.0.0']).status).toBe(0);
    expect(git('rev-parse', 'v1^{commit}')).toBe(git('rev-parse', 'v1.0.0^{commit}'));

    writeFileSync(join(repo, 'dist/agent-lane/index.js'), 'bundle 2\n');
    commitVersion('1.1.0', 'Lanes report their usage');
    git('tag', 'v1.1.0');
    const r = release(['v1.1.0', '--notes', 'notes.md']);
    expect(r.stdout).toContain('release: v1 now points at v1.1.0');
    expect(git('rev-parse', 'v1^{commit}')).toBe(git('rev-parse', 'v1.1.0^{commit}'));
    const notes = readFileSync(join(repo, 'notes.md'), 'utf8');
    expect(notes).toContain('Changes since v1.0.0:');
    expect(notes).toContain('- Lanes report their usage (');
    expect(notes).not.toContain('First cut');
  });

  it('refuses a dist/ the bundler would change, and leaves dist/ as committed', () => {
    const r = release(['v1.0.0', '--dry-run'], { BUNDLE_CMD: 'sh -c "echo rebuilt > dist/agent-lane/index.js"' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('release: dist/ is not a fresh bundle of v1.0.0');
    expect(readFileSync(join(repo, 'dist/agent-lane/index.js'), 'utf8')).toBe('bundle\n');
  });

  it('refuses a published workflow that differs from its source', () => {
    writeFileSync(join(repo, '.github/workflows/ci-node.yml'), 'name: edited by hand\n');
    git('commit', '-qam', 'Hand edit');
    git('tag', '-f', 'v1.0.0');
    const r = release(['v1.0.0', '--dry-run']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      'release: .github/workflows/ci-node.yml is missing or differs from workflows/ci-node.yml',
    );
  });

  it('refuses a tag that disagrees with package.json, a missing tag and a malformed one', () => {
    git('tag', 'v1.0.1');
    expect(release(['v1.0.1', '--dry-run']).stderr).toContain('release: package.json says 1.0.0, the tag says 1.0.1');
    expect(release(['v1.0.2', '--dry-run']).stderr).toContain('release: no tag v1.0.2 here');
    expect(release(['1.0']).status).toBe(2);
  });
});
