// The tree keeps one format (prettier, .prettierrc.json), so diffs show changes, not re-wrapping.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('formatting', () => {
  it('every source file is formatted by prettier (npm run format fixes it)', () => {
    const run = () =>
      execFileSync('npx', ['prettier', '--check', '--log-level', 'warn', '.'], { encoding: 'utf8', stdio: 'pipe' });
    let unformatted = '';
    try {
      run();
    } catch (error) {
      unformatted = String((error as { stderr?: string }).stderr ?? error);
    }
    expect(unformatted).toBe('');
  }, 120_000);
});
