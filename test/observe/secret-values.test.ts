// The pure parts of item 5: which forms of a secret are scrubbed, and what of a job's text reaches a terminal.
import { describe, expect, it } from 'vitest';
import { scrubSecrets, secretVariants } from '../../controller/observe/secret-values.js';
import { printable, printableJson } from '../../controller/status/status-table.js';
import { secretValues } from '../../controller/docker/docker-engine.js';

// A JIT config shaped like GitHub's: base64 of JSON whose values are base64 of JSON again.
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64');
const rsa = { d: 'c2VjcmV0LXByaXZhdGUtZXhwb25lbnQtZA==', modulus: 'bW9kdWx1cy1vZi10aGUta2V5LXBhaXI=' };
const jit = b64({ '.runner': b64({ agentId: 7, agentName: 'factory-x' }), '.credentials_rsaparams': b64(rsa) });

describe('secret values', () => {
  it('scrubs the JIT config, its decoded form and the RSA parameters inside it', () => {
    const text = [jit, Buffer.from(jit, 'base64').toString(), `d=${rsa.d}`, JSON.stringify(rsa)].join('\n');
    const out = scrubSecrets(text, [jit]);
    expect(out).not.toContain(rsa.d);
    expect(out).not.toContain(rsa.modulus);
    expect(out).not.toContain(jit);
    expect(out.split('\n')[2]).toBe('d=[redacted]');
  });

  it('leaves values too short to be secrets, so a flag does not blank out a word', () => {
    expect(scrubSecrets('feature on, token abcdef123', ['on', 'abcdef123'])).toBe('feature on, token [redacted]');
    expect(secretVariants('true')).toEqual([]);
  });

  it("reads only the named variables and the JIT config from a container's environment", () => {
    const env = ['PATH=/bin', 'CI=true', 'LINEAR_TOKEN=lin_x=y', `ACTIONS_RUNNER_INPUT_JITCONFIG=${jit}`];
    expect(secretValues(env, 'ACTIONS_RUNNER_INPUT_JITCONFIG,LINEAR_TOKEN')).toEqual(['lin_x=y', jit]);
    expect(secretValues(env, undefined)).toEqual([jit]);
  });
});

describe('printable', () => {
  it.each([
    ['clear screen and home', 'a\u001b[2J\u001b[Hb', 'ab'],
    ['window title (OSC, BEL)', 'a\u001b]0;pwned\u0007b', 'ab'],
    ['clipboard write (OSC 52, ST)', 'a\u001b]52;c;ZXZpbA==\u001b\\b', 'ab'],
    ['carriage return over the line', 'secret\rok', 'secretok'],
    ['8-bit CSI', 'a\u009b2Jb', 'a2Jb'],
    ['tab', 'a\tb', 'a b'],
  ])('strips %s', (_what, input, output) => {
    expect(printable(input)).toBe(output);
  });

  it('escapes C1 characters in JSON, which JSON.stringify leaves raw', () => {
    expect(printableJson({ line: 'a\u009bb' })).toBe('{\n  "line": "a\\u009bb"\n}');
  });
});
