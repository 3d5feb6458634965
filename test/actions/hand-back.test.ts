// The hand-back from a build agent's tree to the checkout: what it carries, what it refuses, and that nothing the
// agent's tree or the pull request's content holds can steer a write outside the checkout or into its `.git`.
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { handBackPlan, linkStaysInside, type TreeListing } from '../../actions/lane-core/hand-back-plan.js';
import { applyHandBack, listTree } from '../../actions/lane-core/hand-back.js';

const me = process.getuid!();

/** A checkout and the agent's copy of it, as the copy leaves them: the same entries, the same mtimes. */
function twoTrees(files: Record<string, string>) {
  const root = mkdtempSync(join(tmpdir(), 'hand-back-'));
  const [checkout, tree] = [join(root, 'checkout'), join(root, 'tree')];
  for (const top of [checkout, tree]) {
    mkdirSync(join(top, '.git'), { recursive: true });
    writeFileSync(join(top, '.git', 'config'), '[core]\n');
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(top, path, '..'), { recursive: true });
      writeFileSync(join(top, path), text);
      utimesSync(join(top, path), 1_700_000_000, 1_700_000_000);
    }
  }
  return { root, checkout, tree };
}

async function handBack(t: { checkout: string; tree: string }, before: TreeListing) {
  const plan = handBackPlan(before, await listTree(t.tree), me);
  if ('problem' in plan) throw new Error(plan.problem);
  return { plan, kept: await applyHandBack(plan.steps, t.tree, t.checkout) };
}

describe('hand-back', () => {
  it('carries new and changed files, new folders, in-tree links and executable bits', async () => {
    const t = twoTrees({ 'a.txt': 'a\n', 'run.sh': 'echo\n', 'emptied/x.txt': 'x\n' });
    const before = await listTree(t.tree);
    writeFileSync(join(t.tree, 'a.txt'), 'b\n');
    mkdirSync(join(t.tree, 'lib'));
    writeFileSync(join(t.tree, 'lib', 'n.ts'), 'n\n');
    chmodSync(join(t.tree, 'run.sh'), 0o755);
    symlinkSync('lib/n.ts', join(t.tree, 'n-link.ts'));
    writeFileSync(join(t.tree, 'emptied', 'x.txt'), '');

    await handBack(t, before);

    expect(readFileSync(join(t.checkout, 'a.txt'), 'utf8')).toBe('b\n');
    expect(readFileSync(join(t.checkout, 'lib', 'n.ts'), 'utf8')).toBe('n\n');
    expect(lstatSync(join(t.checkout, 'run.sh')).mode & 0o111).toBe(0o111);
    expect(readlinkSync(join(t.checkout, 'n-link.ts'))).toBe('lib/n.ts');
    expect(readFileSync(join(t.checkout, 'emptied', 'x.txt'), 'utf8')).toBe('');
  });

  it('removes what the agent removed, and never a .git it could not see', async () => {
    const t = twoTrees({ 'keep.txt': 'k\n', 'old/a.txt': 'a\n', 'sub/b.txt': 'b\n' });
    // A submodule's gitlink in the checkout: the agent's copy never had it.
    writeFileSync(join(t.checkout, 'sub', '.git'), 'gitdir: ../.git/modules/sub\n');
    const before = await listTree(t.tree);
    rmSync(join(t.tree, 'old'), { recursive: true });
    rmSync(join(t.tree, 'sub'), { recursive: true });

    const { kept } = await handBack(t, before);

    expect(existsSync(join(t.checkout, 'old'))).toBe(false);
    expect(readFileSync(join(t.checkout, 'sub', '.git'), 'utf8')).toContain('gitdir');
    expect(kept).toEqual(["sub: it still holds what the agent's copy never had (a .git)"]);
    expect(existsSync(join(t.checkout, 'keep.txt'))).toBe(true);
  });

  it('never lists, writes or removes a .git, in any letter case, at any depth', async () => {
    const t = twoTrees({ 'a.txt': 'a\n' });
    const before = await listTree(t.tree);
    writeFileSync(join(t.tree, '.git', 'config'), '[core]\n\tfsmonitor = touch /tmp/pwned\n');
    mkdirSync(join(t.tree, '.git', 'hooks'));
    writeFileSync(join(t.tree, '.git', 'hooks', 'post-checkout'), '#!/bin/sh\n');
    mkdirSync(join(t.tree, 'nested', '.GIT'), { recursive: true });
    writeFileSync(join(t.tree, 'nested', '.GIT', 'config'), '[core]\n');

    const { plan } = await handBack(t, before);

    expect(plan.steps.map((s) => s.path)).toEqual(['nested']);
    expect(readFileSync(join(t.checkout, '.git', 'config'), 'utf8')).toBe('[core]\n');
    expect(existsSync(join(t.checkout, '.git', 'hooks'))).toBe(false);
    expect(existsSync(join(t.checkout, 'nested', '.GIT'))).toBe(false);
  });

  it('leaves a link that points out of the tree behind, and never follows one', async () => {
    const t = twoTrees({ 'a.txt': 'a\n' });
    const secret = join(t.root, 'runner-key');
    writeFileSync(secret, 'runner key\n');
    const before = await listTree(t.tree);
    symlinkSync(secret, join(t.tree, 'key'));
    symlinkSync('../../runner-key', join(t.tree, 'climb'));

    const { plan } = await handBack(t, before);

    expect(existsSync(join(t.checkout, 'key'))).toBe(false);
    expect(existsSync(join(t.checkout, 'climb'))).toBe(false);
    expect('skipped' in plan && plan.skipped).toEqual([
      `climb: a symlink to "../../runner-key", outside the tree`,
      `key: a symlink to ${JSON.stringify(secret)}, outside the tree`,
    ]);
    expect(linkStaysInside('a/b', '../c')).toBe(true);
    expect(linkStaysInside('a/b', '../../c')).toBe(false);
  });

  it("a symlinked folder in the checkout (the pull request's) does not carry a write outside it", async () => {
    const t = twoTrees({ 'a.txt': 'a\n' });
    const outside = join(t.root, 'runner-temp');
    mkdirSync(outside);
    // The pull request brought `dir` as a link to the runner's folder; the agent's copy has it as the same link,
    // and the agent writes a real folder of that name.
    symlinkSync(outside, join(t.checkout, 'dir'));
    symlinkSync(outside, join(t.tree, 'dir'));
    const before = await listTree(t.tree);
    unlinkSync(join(t.tree, 'dir'));
    mkdirSync(join(t.tree, 'dir'));
    writeFileSync(join(t.tree, 'dir', 'set_env'), 'NODE_OPTIONS=--require=/tmp/evil.js\n');

    await handBack(t, before);

    expect(existsSync(join(outside, 'set_env'))).toBe(false);
    expect(lstatSync(join(t.checkout, 'dir')).isDirectory()).toBe(true);
    expect(readFileSync(join(t.checkout, 'dir', 'set_env'), 'utf8')).toContain('NODE_OPTIONS');
  });

  it('refuses to write through a parent that is a link when it gets there', async () => {
    const t = twoTrees({ 'dir/a.txt': 'a\n' });
    const outside = join(t.root, 'elsewhere');
    mkdirSync(outside);
    rmSync(join(t.checkout, 'dir'), { recursive: true });
    symlinkSync(outside, join(t.checkout, 'dir'));

    await expect(
      applyHandBack([{ op: 'write', path: 'dir/a.txt', size: 2, executable: false }], t.tree, t.checkout),
    ).rejects.toThrow(/is not a real directory/);
    expect(existsSync(join(outside, 'a.txt'))).toBe(false);
  });

  it("hands back no file that is not the agent's own (a hard link to someone else's) and no FIFO", () => {
    const before: TreeListing = new Map();
    const after: TreeListing = new Map([
      ['linked', { kind: 'file', size: 10, mtimeMs: 1, executable: false, uid: 0 }],
      ['pipe', { kind: 'other' }],
      ['mine', { kind: 'file', size: 1, mtimeMs: 1, executable: false, uid: 1001 }],
    ]);
    const plan = handBackPlan(before, after, 1001);
    expect(plan).toEqual({
      steps: [{ op: 'write', path: 'mine', size: 1, executable: false }],
      bytes: 1,
      skipped: ['linked: owned by uid 0, not the agent', 'pipe: not a regular file, directory or symlink'],
    });
  });

  it('refuses a hand-back over its size or entry limit, whole', () => {
    const after: TreeListing = new Map([
      ['big', { kind: 'file', size: 3_000, mtimeMs: 1, executable: false, uid: 1 }],
      ['small', { kind: 'file', size: 1, mtimeMs: 1, executable: false, uid: 1 }],
    ]);
    expect(handBackPlan(new Map(), after, 1, { bytes: 2_000, entries: 10 })).toEqual({
      problem: "the agent's changes hold 3001 bytes of files, over the hand-back limit of 2000",
    });
    expect(handBackPlan(new Map(), after, 1, { bytes: 10_000, entries: 1 })).toEqual({
      problem: 'the agent changed 2 entries, over the hand-back limit of 1',
    });
  });
});
