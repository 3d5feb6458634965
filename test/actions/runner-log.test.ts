import * as core from '@actions/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runnerLog } from '../../actions/lane-core/runner-log.js';

/** What @actions/core itself writes to stdout for `act`. */
function coreWrites(act: () => void): string {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((out += String(chunk)), true));
  try {
    act();
  } finally {
    spy.mockRestore();
  }
  return out;
}

const tricky = ['plain', 'a%0Ab', 'line one\nline two', 'cr\r\nlf', '::error::forged', '100% sure', 'ünï'];

describe('runner log', () => {
  afterEach(() => {
    delete process.env['INPUT_MY_INPUT'];
  });

  it('writes masks, warnings and lines byte for byte as @actions/core does', () => {
    for (const value of tricky) {
      let ours = '';
      const log = runnerLog(process.env, (text) => void (ours += text));
      log.setSecret(value);
      log.warning(value);
      log.info(value);

      expect(ours, JSON.stringify(value)).toBe(
        coreWrites(() => {
          core.setSecret(value);
          core.warning(value);
          core.info(value);
        }),
      );
    }
  });

  it('reads an input as @actions/core does: spaces to underscores, upper case, trimmed', () => {
    process.env['INPUT_MY_INPUT'] = '  some value \n';

    expect(runnerLog().getInput('my input')).toBe(core.getInput('my input'));
    expect(runnerLog().getInput('absent')).toBe(core.getInput('absent'));
  });
});
