// scripts/release.sh on a local tag in a scratch repository: the dry run checks and prints without changing a thing,
// the real run moves the major tag, and a stale dist/, a stale workflow copy, a wrong version or a deploy base that is
// not pinned by digest stop it.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

let repo: string;
const env: NodeJS.ProcessEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: 't',
  GIT_AUTHOR_EMAIL: 't@example.test',
  GIT_COMMITTER_NAME: 't',
  GIT_COMMITTER_EMAIL: 't@example.test',
  BUNDLE_CMD: 'true',
  // The two artifacts, recorded instead of made: the package and the image have tests of their own.
  PACKAGE_CMD: 'echo "package $PWD" >>"$RELEASE_LOG"; echo release/factory-test.tgz',
  IMAGE_CMD: 'echo image >>"$RELEASE_LOG"',
};
const RELEASE_LOG = join(mkdtempSync(join(tmpdir(), 'factory-release-log-')), 'made.log');
env.RELEASE_LOG = RELEASE_LOG;
const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, env, encoding: 'utf8' }).trim();
const release = (args: string[], extra: Record<string, string> = {}) =>
  spawnSync('scripts/release.sh', args, { cwd: repo, env: { ...env, ...extra }, encoding: 'utf8' });

// A well-formed digest for the scratch copies only: no registry is reachable here to read the real one, and the
// committed deploy files carry the tag alone until someone with registry access pins it (docs/real-host.md).
const PLACEHOLDER_DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;
const BASE = 'node:24-bookworm-slim';

/** The repository's deploy files in the scratch repository, with NODE_BASE set to `base` in both. */
function writeDeploy(base: string, composeBase = base) {
  mkdirSync(join(repo, 'deploy'), { recursive: true });
  const dockerfile = readFileSync('deploy/Dockerfile', 'utf8');
  const compose = readFileSync('deploy/compose.yml', 'utf8');
  expect(dockerfile).toContain(`ARG NODE_BASE=${BASE}\n`);
  expect(compose).toContain(`NODE_BASE: "\${NODE_BASE:-${BASE}}"`);
  writeFileSync(
    join(repo, 'deploy/Dockerfile'),
    dockerfile.replace(`ARG NODE_BASE=${BASE}\n`, `ARG NODE_BASE=${base}\n`),
  );
  writeFileSync(
    join(repo, 'deploy/compose.yml'),
    compose.replace(`NODE_BASE: "\${NODE_BASE:-${BASE}}"`, `NODE_BASE: "\${NODE_BASE:-${composeBase}}"`),
  );
}
/** Commits the deploy files with this base and moves the tag onto that commit. */
function retagWithBase(base: string, composeBase = base) {
  writeDeploy(base, composeBase);
  git('commit', '-qam', 'Deploy base');
  git('tag', '-f', 'v1.0.0');
}

function commitVersion(version: string, subject: string, changelog = true) {
  writeFileSync(join(repo, 'package.json'), JSON.stringify({ name: 'factory', version }));
  if (changelog) {
    const before = existsSync(join(repo, 'CHANGELOG.md')) ? readFileSync(join(repo, 'CHANGELOG.md'), 'utf8') : '';
    writeFileSync(join(repo, 'CHANGELOG.md'), `## ${version}\n\n- ${subject}\n\n${before}`);
  }
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
  writeDeploy(`${BASE}@${PLACEHOLDER_DIGEST}`);
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
    expect(r.stdout).toContain('release: would make the package: ');
    expect(r.stdout).toContain('release: would build the controller image: ');
    expect(git('tag', '--list')).toBe('v1.0.0');
    expect(existsSync(RELEASE_LOG)).toBe(false);
  });

  it('by default makes the package with scripts/release-package.sh and the image from deploy/Dockerfile', () => {
    const { PACKAGE_CMD: _p, IMAGE_CMD: _i, ...defaults } = env;
    const r = spawnSync('scripts/release.sh', ['v1.0.0', '--dry-run'], { cwd: repo, env: defaults, encoding: 'utf8' });
    expect(r.stdout).toContain('release: would make the package: scripts/release-package.sh release\n');
    expect(r.stdout).toContain(
      'release: would build the controller image: docker build -q -f deploy/Dockerfile -t factory/controller:1.0.0 .\n',
    );
  });

  it('makes the package and the image before it moves the tag', () => {
    rmSync(RELEASE_LOG, { force: true });
    const r = release(['v1.0.0']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('release: package release/factory-test.tgz\n');
    expect(r.stdout).toContain('release: image factory/controller:1.0.0\n');
    expect(readFileSync(RELEASE_LOG, 'utf8')).toBe(`package ${repo}\nimage\n`);
    rmSync(RELEASE_LOG, { force: true });
  });

  it('refuses a version CHANGELOG.md has no section for', () => {
    commitVersion('1.0.1', 'A fix', false);
    git('tag', 'v1.0.1');
    const r = release(['v1.0.1', '--dry-run']);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      'release: CHANGELOG.md has no section "## 1.0.1": rename "## Unreleased" to it, commit, and tag again\n',
    );
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

  it('refuses a deploy base that is not pinned by digest, saying how to read the digest', () => {
    retagWithBase(BASE);
    const r = release(['v1.0.0', '--dry-run']);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      `release: deploy/Dockerfile's base ${BASE} is not pinned by digest: on a machine with registry access run: docker buildx imagetools inspect ${BASE}; then set ARG NODE_BASE in deploy/Dockerfile and NODE_BASE in deploy/compose.yml to ${BASE}@sha256:<the Digest it prints>, commit, and tag again\n`,
    );
    expect(git('tag', '--list')).toBe('v1.0.0');
  });

  it('refuses a malformed digest, and a compose base that differs from the Dockerfile', () => {
    retagWithBase(`${BASE}@sha256:1234`);
    expect(release(['v1.0.0', '--dry-run']).stderr).toContain(`base ${BASE}@sha256:1234 is not pinned by digest`);
    retagWithBase(`${BASE}@${PLACEHOLDER_DIGEST}`, BASE);
    expect(release(['v1.0.0', '--dry-run']).stderr).toContain(
      `release: deploy/compose.yml's NODE_BASE (${BASE}) is not deploy/Dockerfile's ${BASE}@${PLACEHOLDER_DIGEST}`,
    );
  });

  it('reads the deploy files as committed: refused while their base is a tag alone, taken once it is pinned', () => {
    cpSync('deploy/Dockerfile', join(repo, 'deploy/Dockerfile'));
    cpSync('deploy/compose.yml', join(repo, 'deploy/compose.yml'));
    git('commit', '-qam', 'Deploy files as in the repository');
    git('tag', '-f', 'v1.0.0');
    const pinned = /^ARG NODE_BASE=\S+@sha256:[0-9a-f]{64}$/m.test(readFileSync('deploy/Dockerfile', 'utf8'));
    const r = release(['v1.0.0', '--dry-run']);
    if (pinned) expect(r.status).toBe(0);
    else expect(r.stderr).toMatch(/^release: deploy\/Dockerfile's base \S+ is not pinned by digest/);
  });

  it('refuses a tag that disagrees with package.json, a missing tag and a malformed one', () => {
    git('tag', 'v1.0.1');
    expect(release(['v1.0.1', '--dry-run']).stderr).toContain('release: package.json says 1.0.0, the tag says 1.0.1');
    expect(release(['v1.0.2', '--dry-run']).stderr).toContain('release: no tag v1.0.2 here');
    expect(release(['1.0']).status).toBe(2);
  });
});
