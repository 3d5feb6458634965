// The repository in hand: the head checkout the reviewer reads, the repository's review config, and findings
// turned into line comments with suggestions GitHub can apply.
import { mkdtempSync, readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import type { Finding } from '../../actions/lane-core/findings.js';
import { findingsOf } from '../../actions/lane-core/findings.js';
import { extractHead, removeHead } from '../../actions/second-opinion/src/head-checkout.js';
import { lineComment } from '../../actions/second-opinion/src/line-comment.js';
import { parseReviewConfig } from '../../actions/second-opinion/src/review-config.js';
import { tarGz } from '../support/fake-github.js';

const dest = () => join(mkdtempSync(join(tmpdir(), 'head-')), 'workspace');

describe('head checkout', () => {
  it('lays out the tree read-only, without CLI settings, instructions or links, and says what it left out', async () => {
    const dir = dest();
    const tree = {
      'src/app.ts': 'export const a = 1;\n',
      'README.md': '# x\n',
      'CLAUDE.md': 'obey',
      'pkg/AGENTS.md': 'obey',
      '.claude/settings.json': '{}',
      '.codex/config.toml': 'x = 1',
      '.mcp.json': '{}',
      'docs/passwd': { symlink: '/etc/passwd' },
    };

    const result = await extractHead(await tarGz(tree, 'o-r-abc1234'), dir);

    expect(result.files).toBe(2);
    expect(result.withheld.sort()).toEqual([
      '.claude/settings.json',
      '.codex/config.toml',
      '.mcp.json',
      'CLAUDE.md',
      'docs/passwd',
      'pkg/AGENTS.md',
    ]);
    expect(readFileSync(join(dir, 'src/app.ts'), 'utf8')).toBe('export const a = 1;\n');
    expect(readdirSync(dir).sort()).toEqual(['README.md', 'src']);
    expect(statSync(join(dir, 'src/app.ts')).mode & 0o777).toBe(0o444);
    expect(statSync(join(dir, 'src')).mode & 0o777).toBe(0o555);
    await removeHead(dir);
    expect(existsSync(dir)).toBe(false);
  });

  it('an entry that climbs out of the tree is left out, never written outside it', async () => {
    const root = mkdtempSync(join(tmpdir(), 'head-'));
    const archive = pack();
    const chunks: Buffer[] = [];
    archive.on('data', (c: unknown) => chunks.push(c as Buffer));
    const ended = new Promise<void>((resolve) => archive.on('end', () => resolve()));
    archive.entry({ name: 'top/../../escaped.txt' }, 'out');
    archive.entry({ name: 'top/ok.txt' }, 'in');
    archive.finalize();
    await ended;

    const result = await extractHead(gzipSync(Buffer.concat(chunks)), join(root, 'workspace'));

    expect(result.files).toBe(1);
    expect(existsSync(join(root, 'escaped.txt'))).toBe(false);
    expect(readdirSync(root)).toEqual(['workspace']);
  });

  it('a damaged archive is an error, not a partial checkout passed off as whole', async () => {
    await expect(extractHead(Buffer.from('not a tarball'), dest())).rejects.toThrow();
  });
});

describe('review config', () => {
  it('no file is no guidance; a focus is taken trimmed', () => {
    expect(parseReviewConfig(undefined)).toEqual({ focus: '' });
    expect(parseReviewConfig('focus: |\n  Money paths first.\n')).toEqual({ focus: 'Money paths first.' });
  });

  it('errors name the file and the key', () => {
    expect(() => parseReviewConfig('focus: [1, 2]\n')).toThrow('.github/second-opinion.yml: focus must be text');
    expect(() => parseReviewConfig('focs: typo\n')).toThrow(
      '.github/second-opinion.yml: has unknown keys focs (known: focus)',
    );
    expect(() => parseReviewConfig('focus: "unclosed\n')).toThrow(/^\.github\/second-opinion\.yml: not YAML: /);
  });
});

describe('line comments', () => {
  const finding = (over: Partial<Finding>): Finding => ({
    path: 'a.ts',
    line: 3,
    endLine: 3,
    severity: 'failure',
    title: 'Off by one',
    message: 'Use <=.',
    ...over,
  });
  const lines = new Set([2, 3, 4, 5]);

  it('a finding without a suggestion is a plain comment on its line; outside the diff, none', () => {
    expect(lineComment(finding({}), lines)).toEqual({
      path: 'a.ts',
      line: 3,
      body: '**blocking** Off by one: Use <=.',
    });
    expect(lineComment(finding({ line: 9, endLine: 9 }), lines)).toBeUndefined();
  });

  it('a suggestion over a range is a multi-line suggestion block the author can apply', () => {
    expect(
      lineComment(finding({ line: 3, endLine: 4, suggestion: 'for (i = 0; i <= n; i++)\n  go(i);\n' }), lines),
    ).toEqual({
      path: 'a.ts',
      startLine: 3,
      line: 4,
      body: '**blocking** Off by one: Use <=.\n\n```suggestion\nfor (i = 0; i <= n; i++)\n  go(i);\n```',
    });
  });

  it('a suggestion holding a code fence gets a longer fence, so it cannot end the block early', () => {
    const body = lineComment(finding({ suggestion: 'const md = "```";' }), lines)!.body;
    expect(body).toContain('\n````suggestion\nconst md = "```";\n````');
  });

  it('a range that leaves the diff falls back to a plain comment rather than replace the wrong lines', () => {
    expect(lineComment(finding({ line: 5, endLine: 7, suggestion: 'x' }), lines)).toEqual({
      path: 'a.ts',
      line: 5,
      body: '**blocking** Off by one: Use <=.',
    });
  });

  it("the review answer's suggestion reaches the finding; null means none", () => {
    const [withFix, without] = findingsOf({
      findings: [
        { path: 'a.ts', line: 3, end_line: 4, severity: 'blocking', message: 'm', suggestion: 'fixed' },
        { path: 'a.ts', line: 3, end_line: null, severity: 'nit', message: 'm', suggestion: null },
      ],
    });
    expect(withFix).toMatchObject({ endLine: 4, suggestion: 'fixed' });
    expect(without!.suggestion).toBeUndefined();
    expect(without!.endLine).toBe(3);
  });
});
