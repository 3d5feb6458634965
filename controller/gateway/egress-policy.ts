// Where a lane may connect: the one decision the gateway makes for every DNS answer, CONNECT, plain HTTP request and
// transparent TLS or HTTP connection. Pure, and free of imports: it is shipped into the gateway container as is.

/** One allowed destination: a host name, or `*.` and a domain (any name below it, not the domain itself). */
export interface EgressRule {
  host: string;
  /** Unset: the web's ports, 80 and 443. */
  port?: number;
}

export interface EgressPolicy {
  allow: EgressRule[];
  /** Ports of the controller host's loopback services, relayed by the gateway on the same port. */
  loopback: number[];
}

export type Decision = { allowed: true } | { allowed: false; reason: string };

export const WEB_PORTS = [80, 443] as const;
/** The gateway's own HTTP CONNECT / HTTP proxy port and its resolver's: never a relayed or transparent port. */
export const PROXY_PORT = 3128;
export const DNS_PORT = 53;
/**
 * Where a brokered job reaches its model broker at its gateway: one port for every job, relayed by the controller to
 * that job's own broker, so a spare gateway started before its job is known fits every brokered job of its profile.
 */
export const BROKER_PORT = 3129;
/**
 * Where the proxy port answers a GET with what it refused so far, as JSON `{ blocked: [{ host, port, count, first }],
 * more }` (at most REFUSAL_KINDS destinations, most refused first): the lane's action reads it for its report.
 */
export const REFUSALS_PATH = '/.factory/egress-refusals';
export const REFUSAL_KINDS = 100;

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** Lowercase, one trailing dot dropped; undefined when it is not a host name (an IPv6 literal is not). */
export function normaliseHost(raw: string): string | undefined {
  const host = raw.toLowerCase().replace(/\.$/, '');
  if (host.length === 0 || host.length > 253) return undefined;
  return host.split('.').every((l) => LABEL.test(l)) ? host : undefined;
}

/** IPv4 dotted, IPv6 (any colon form, mapped v4 included) or a bare number (`2130706433` is 127.0.0.1 to a resolver). */
export const isAddress = (host: string) =>
  IPV4.test(host) || /^[0-9a-f:.]*:[0-9a-f:.]*$/i.test(host) || /^\d+$/.test(host);

/** `text` is `name`, `*.domain` or either with `:port`; the error says what is wrong with it. */
export function parseRule(text: string): { rule: EgressRule } | { error: string } {
  const m = /^(.*?)(?::(\d+))?$/.exec(text.trim())!;
  const [, rawHost = '', rawPort] = m;
  const port = rawPort === undefined ? undefined : Number(rawPort);
  if (port !== undefined && (port < 1 || port > 65535)) return { error: `port ${rawPort} is not between 1 and 65535` };
  const wildcard = rawHost.startsWith('*.');
  const name = wildcard ? rawHost.slice(2) : rawHost;
  if (isAddress(name) || rawHost.startsWith('['))
    return { error: 'egress is allowed by host name, not by address (an address bypasses the resolver)' };
  const host = normaliseHost(name);
  if (host === undefined || host.includes('*'))
    return { error: 'expected a host name such as "api.anthropic.com" or "*.sentry.io", optionally with ":port"' };
  // "*.com" would allow half the internet; a wildcard names a domain of at least two labels.
  if (wildcard && !host.includes('.')) return { error: `"*.${host}" is too wide: name a domain such as "*.sentry.io"` };
  return { rule: { host: wildcard ? `*.${host}` : host, ...(port === undefined ? {} : { port }) } };
}

export function hostMatches(pattern: string, host: string): boolean {
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1;
  return pattern === host;
}

/** Whether a lane may open `host:port` through the gateway. */
export function decide(policy: EgressPolicy, rawHost: string, port: number): Decision {
  if (isAddress(rawHost.replace(/^\[|\]$/g, '')))
    return { allowed: false, reason: 'an address, not a name: only allowed names go out' };
  const host = normaliseHost(rawHost);
  if (host === undefined) return { allowed: false, reason: 'not a host name' };
  const rules = policy.allow.filter((r) => hostMatches(r.host, host));
  if (rules.length === 0) return { allowed: false, reason: 'host not allowed' };
  if (rules.some((r) => (r.port === undefined ? (WEB_PORTS as readonly number[]).includes(port) : r.port === port)))
    return { allowed: true };
  return { allowed: false, reason: `port ${port} not allowed for ${host}` };
}

/** Whether the resolver answers the name (with the gateway's own address): allowed on some port. */
export function resolvable(policy: EgressPolicy, rawName: string): boolean {
  const host = normaliseHost(rawName);
  return host !== undefined && policy.allow.some((r) => hostMatches(r.host, host));
}

/** The ports the gateway listens on for a lane that ignores the proxy variables (TLS by SNI, HTTP by Host). */
export function transparentPorts(policy: EgressPolicy): number[] {
  const ports = new Set<number>(policy.allow.length > 0 ? WEB_PORTS : []);
  for (const r of policy.allow) if (r.port !== undefined) ports.add(r.port);
  return [...ports]
    .filter((p) => p !== PROXY_PORT && p !== DNS_PORT && !policy.loopback.includes(p))
    .sort((a, b) => a - b);
}

/**
 * Addresses an allowed name must not lead to (a name whose records point at the host's loopback or the cloud
 * metadata service would turn the gateway into a way there): loopback, link-local, unspecified, multicast.
 */
export function forbiddenAddress(ip: string): boolean {
  const v4 = /^(?:::ffff:)?(\d+)\.(\d+)\.\d+\.\d+$/i.exec(ip);
  if (v4) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    return a === 127 || a === 0 || (a === 169 && b === 254) || a >= 224;
  }
  const v6 = ip.toLowerCase();
  return v6 === '::1' || v6 === '::' || /^fe[89ab]/.test(v6) || v6.startsWith('ff');
}
