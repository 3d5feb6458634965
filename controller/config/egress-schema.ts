// A profile's `egress`: the destinations its jobs may reach by name and the host's loopback services relayed to them.
// The rules themselves are egress-policy.ts, the one module the gateway also runs, so config and gateway cannot
// disagree on what an entry means.
import { z } from 'zod';
import { BROKER_PORT, DNS_PORT, parseRule, PROXY_PORT, WEB_PORTS, type EgressRule } from '../gateway/egress-policy.js';

const got = (input: unknown) => JSON.stringify(input);

const allowEntry = z.string().transform((text, ctx): EgressRule => {
  const parsed = parseRule(text);
  if ('error' in parsed) {
    ctx.addIssue({ code: 'custom', message: `${parsed.error}, got ${got(text)}` });
    return z.NEVER;
  }
  return parsed.rule;
});

// The controller host's loopback only (127.0.0.1 or localhost): anything else is a name for `allow`.
const loopbackEntry = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const m = typeof v === 'number' ? [, String(v)] : /^(?:127\.0\.0\.1|localhost):(\d+)$/.exec(v.trim());
  const port = Number(m?.[1]);
  if (!m || !Number.isInteger(port) || port < 1 || port > 65535) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a loopback service such as "127.0.0.1:3100" (or its port), got ${got(v)}`,
    });
    return z.NEVER;
  }
  return port;
});

export const egressSchema = z
  .strictObject({
    /** Host names (`*.` wildcards), each optionally with `:port`; without one, ports 80 and 443. */
    allow: z.array(allowEntry).default([]),
    /** The controller host's loopback services the job reaches at the gateway's address on the same port. */
    loopback: z.array(loopbackEntry).default([]),
  })
  .superRefine((e, ctx) => {
    const named = new Set<number>([...WEB_PORTS, ...e.allow.flatMap((r) => (r.port === undefined ? [] : [r.port]))]);
    e.loopback.forEach((port, i) => {
      const own = { [DNS_PORT]: 'resolver', [PROXY_PORT]: 'proxy', [BROKER_PORT]: 'model broker' }[port];
      const clash =
        own !== undefined
          ? `the gateway's own ${own} port`
          : named.has(port)
            ? 'a port the gateway serves allowed names on (80, 443 and the ports in allow)'
            : e.loopback.indexOf(port) !== i
              ? 'listed twice'
              : undefined;
      if (clash) ctx.addIssue({ code: 'custom', path: ['loopback', i], message: `port ${port} is ${clash}` });
    });
  });

export type Egress = z.output<typeof egressSchema>;
