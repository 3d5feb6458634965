// The controller's log: JSON with level names for machines, one line per event for a person at a terminal, colour
// only for a terminal without NO_COLOR, and a level named by word or refused with the words it takes.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, humanLine, parseLogLevel, wantsColor } from '../../controller/observe/logger.js';

/** A destination that records what it gets; `isTTY` as a terminal's stream would say it. */
function sink(isTTY = false) {
  let text = '';
  const stream = new Writable({
    write(chunk, _enc, done) {
      text += chunk.toString();
      done();
    },
  }) as Writable & { isTTY?: boolean };
  if (isTTY) stream.isTTY = true;
  return { stream, text: () => text };
}

const ESC = '\x1b[';

describe('createLogger', () => {
  it('writes JSON lines with the level as a word when the destination is not a terminal', () => {
    const out = sink();
    const log = createLogger({ destination: out.stream });
    log.warn({ repo: 'o/r', jobId: 7 }, 'job refused');
    const line = JSON.parse(out.text().trim()) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 'warn', repo: 'o/r', jobId: 7, msg: 'job refused' });
    expect(typeof line.time).toBe('number');
  });

  it('writes one line per event on a terminal, however many fields and nested values it has', () => {
    const out = sink(true);
    const log = createLogger({ destination: out.stream, color: false });
    log.info(
      { repo: 'o/r', labels: ['self-hosted', 'ci'], lastLines: ['one', 'two words'], nested: { a: { b: 1 } } },
      'runner container finished',
    );
    log.error({ err: new Error('engine\ngone') }, 'two\nlines');
    const lines = out.text().split('\n').filter(Boolean);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^\d\d:\d\d:\d\d INFO {2}runner container finished {2}repo=o\/r labels=\["self-hosted","ci"\] lastLines=\["one","two words"\] nested=\{"a":\{"b":1\}\}$/,
    );
    expect(lines[1]).toMatch(/ERROR two \| lines {2}err="engine\\ngone"$/);
    expect(out.text()).not.toContain(ESC);
  });

  it('redacts tokens on the terminal as in the JSON', () => {
    const out = sink(true);
    createLogger({ destination: out.stream, color: false }).info({ spec: { token: 'ghs_secret' } }, 'spec');
    expect(out.text()).not.toContain('ghs_secret');
    expect(out.text()).toContain('[redacted]');
  });

  it('colours the level on a terminal unless NO_COLOR is set', () => {
    expect(wantsColor({ isTTY: true }, {})).toBe(true);
    expect(wantsColor({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    // no-color.org: an empty NO_COLOR is as if unset.
    expect(wantsColor({ isTTY: true }, { NO_COLOR: '' })).toBe(true);
    expect(wantsColor({ isTTY: false }, {})).toBe(false);
    expect(humanLine(JSON.stringify({ level: 'warn', time: 0, msg: 'm' }), true)).toContain(`${ESC}33mWARN `);
    expect(humanLine(JSON.stringify({ level: 'warn', time: 0, msg: 'm' }), false)).not.toContain(ESC);
  });

  it('takes the level by name, from the option or FACTORY_LOG_LEVEL, and refuses any other word', () => {
    const out = sink();
    const log = createLogger({ destination: out.stream, level: 'warn' });
    log.info('hidden');
    log.warn('shown');
    expect(out.text()).not.toContain('hidden');
    expect(out.text()).toContain('shown');
    expect(parseLogLevel('DEBUG', 'x')).toBe('debug');
    expect(() => parseLogLevel('30', '--log-level')).toThrow(
      '--log-level: "30" is not a log level; use one of trace, debug, info, warn, error, fatal, silent',
    );
    const before = process.env.FACTORY_LOG_LEVEL;
    process.env.FACTORY_LOG_LEVEL = 'verbose';
    try {
      expect(() => createLogger({ destination: out.stream })).toThrow(
        /^FACTORY_LOG_LEVEL: "verbose" is not a log level/,
      );
    } finally {
      if (before === undefined) delete process.env.FACTORY_LOG_LEVEL;
      else process.env.FACTORY_LOG_LEVEL = before;
    }
  });
});
