// The one decision the gateway makes: which host:port a lane may open, which names the resolver answers.
import { describe, expect, it } from 'vitest';
import {
  decide,
  forbiddenAddress,
  parseRule,
  resolvable,
  transparentPorts,
  type EgressPolicy,
} from '../../controller/gateway/egress-policy.js';

const rule = (text: string) => {
  const r = parseRule(text);
  if ('error' in r) throw new Error(r.error);
  return r.rule;
};
const policy = (allow: string[], loopback: number[] = []): EgressPolicy => ({ allow: allow.map(rule), loopback });

describe('decide', () => {
  const p = policy(['api.anthropic.test', '*.sentry.test', 'mcp.example.test:8443']);

  it('allows a listed name on the web ports and nothing else when the entry names no port', () => {
    expect(decide(p, 'api.anthropic.test', 443)).toEqual({ allowed: true });
    expect(decide(p, 'api.anthropic.test', 80)).toEqual({ allowed: true });
    expect(decide(p, 'api.anthropic.test', 22)).toEqual({
      allowed: false,
      reason: 'port 22 not allowed for api.anthropic.test',
    });
  });

  it('allows an entry with a port on that port alone', () => {
    expect(decide(p, 'mcp.example.test', 8443).allowed).toBe(true);
    expect(decide(p, 'mcp.example.test', 443).allowed).toBe(false);
  });

  it('matches names case-insensitively and with a trailing dot', () => {
    expect(decide(p, 'API.Anthropic.TEST.', 443).allowed).toBe(true);
  });

  it('matches a wildcard below its domain at any depth, never the domain itself or a look-alike', () => {
    expect(decide(p, 'o1.ingest.sentry.test', 443).allowed).toBe(true);
    expect(decide(p, 'sentry.test', 443).allowed).toBe(false);
    expect(decide(p, 'evilsentry.test', 443).allowed).toBe(false);
    expect(decide(p, 'sentry.test.evil.test', 443).allowed).toBe(false);
  });

  it('refuses addresses, even one an allowed name resolves to', () => {
    for (const host of ['10.0.0.1', '169.254.169.254', '[::1]', '::ffff:1.2.3.4', '2130706433'])
      expect(decide(p, host, 443)).toMatchObject({ allowed: false, reason: expect.stringMatching(/address/) });
  });

  it('refuses what is not a host name and anything unlisted', () => {
    expect(decide(p, 'a b.test', 443).allowed).toBe(false);
    expect(decide(p, '', 443).allowed).toBe(false);
    expect(decide(p, 'pastebin.test', 443)).toEqual({ allowed: false, reason: 'host not allowed' });
    expect(decide(policy([]), 'api.anthropic.test', 443).allowed).toBe(false);
  });
});

describe('resolvable and transparentPorts', () => {
  it('answers allowed names only, a long tunnel name below an unlisted domain included', () => {
    const p = policy(['api.anthropic.test', '*.sentry.test']);
    expect(resolvable(p, 'api.anthropic.test')).toBe(true);
    expect(resolvable(p, 'x.sentry.test')).toBe(true);
    expect(resolvable(p, `${'a'.repeat(60)}.${'b'.repeat(60)}.tunnel.test`)).toBe(false);
  });

  it('serves the web ports and each named port, never a relayed one or its own', () => {
    expect(transparentPorts(policy(['a.test', 'b.test:8443', 'c.test:3128'], [3100]))).toEqual([80, 443, 8443]);
    expect(transparentPorts(policy([], [3100]))).toEqual([]);
  });
});

describe('parseRule', () => {
  it('reads a name, a wildcard and a port', () => {
    expect(parseRule('Api.OpenAI.com')).toEqual({ rule: { host: 'api.openai.com' } });
    expect(parseRule('*.sentry.io:443')).toEqual({ rule: { host: '*.sentry.io', port: 443 } });
  });

  it('says what is wrong with an address, a too-wide wildcard, a bad port or a bad name', () => {
    expect(parseRule('1.2.3.4')).toEqual({ error: expect.stringMatching(/by host name, not by address/) });
    expect(parseRule('[::1]:443')).toEqual({ error: expect.stringMatching(/not by address/) });
    expect(parseRule('*.com')).toEqual({ error: expect.stringMatching(/too wide/) });
    expect(parseRule('a.test:0')).toEqual({ error: 'port 0 is not between 1 and 65535' });
    expect(parseRule('a.test:70000')).toEqual({ error: 'port 70000 is not between 1 and 65535' });
    expect(parseRule('a.*.test')).toEqual({ error: expect.stringMatching(/expected a host name/) });
    expect(parseRule('https://a.test')).toEqual({ error: expect.stringMatching(/expected a host name/) });
  });
});

describe('forbiddenAddress', () => {
  it('forbids loopback, link-local (the metadata service), unspecified and multicast, v4 and v6', () => {
    for (const ip of [
      '127.0.0.1',
      '169.254.169.254',
      '0.0.0.0',
      '224.0.0.1',
      '::1',
      '::',
      'fe80::1',
      '::ffff:127.0.0.1',
    ])
      expect(forbiddenAddress(ip), ip).toBe(true);
  });
  it('allows ordinary addresses, private ones included (a Docker network is one)', () => {
    for (const ip of ['172.18.0.5', '10.1.2.3', '93.184.216.34', '2001:db8::1'])
      expect(forbiddenAddress(ip), ip).toBe(false);
  });
});
