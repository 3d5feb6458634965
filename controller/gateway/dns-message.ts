// The gateway resolver's wire format (RFC 1035), as little of it as a resolver that never forwards needs: read the
// one question of a query, write an answer with at most one A record. Anything else (several questions, compression
// in a query, a truncated message) is not a query this resolver answers. Pure, shipped into the gateway as is.

export interface DnsQuery {
  id: number;
  /** The query's flags, echoed: opcode and recursion desired. */
  flags: number;
  name: string;
  type: number;
  qclass: number;
  /** Where the question section ends: the answer repeats the bytes before it. */
  questionEnd: number;
}

export const TYPE_A = 1;
export const RCODE = { noError: 0, formErr: 1, nxDomain: 3, notImp: 4, refused: 5 } as const;

export function parseQuery(msg: Uint8Array): DnsQuery | undefined {
  if (msg.length < 12) return undefined;
  const view = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  const flags = view.getUint16(2);
  if (flags & 0x8000) return undefined; // a response, not a query
  if (view.getUint16(4) !== 1) return undefined;
  const labels: string[] = [];
  let at = 12;
  for (;;) {
    if (at >= msg.length) return undefined;
    const len = msg[at]!;
    if (len === 0) break;
    if (len > 63) return undefined; // a compression pointer or a reserved label type
    if (at + 1 + len > msg.length) return undefined;
    labels.push(String.fromCharCode(...msg.subarray(at + 1, at + 1 + len)));
    at += 1 + len;
  }
  at += 1;
  if (at + 4 > msg.length) return undefined;
  const name = labels.join('.');
  if (name.length > 253) return undefined;
  return {
    id: view.getUint16(0),
    flags,
    name,
    type: view.getUint16(at),
    qclass: view.getUint16(at + 2),
    questionEnd: at + 4,
  };
}

/** The answer to `query`: `rcode`, and one A record of `address` (IPv4 dotted) with a short TTL when given. */
export function answer(msg: Uint8Array, query: DnsQuery, rcode: number, address?: string): Uint8Array {
  const record = address === undefined ? new Uint8Array(0) : aRecord(address);
  const out = new Uint8Array(query.questionEnd + record.length);
  out.set(msg.subarray(0, query.questionEnd));
  const view = new DataView(out.buffer);
  // QR, the query's opcode and RD, AA; RA stays clear: this resolver recurses for no one.
  view.setUint16(2, 0x8000 | (query.flags & 0x7900) | 0x0400 | (rcode & 0xf));
  view.setUint16(4, 1);
  view.setUint16(6, address === undefined ? 0 : 1);
  view.setUint16(8, 0);
  view.setUint16(10, 0);
  out.set(record, query.questionEnd);
  return out;
}

/** A bare error answer for a message that could not be read as a query (only its id is known). */
export function formatError(msg: Uint8Array): Uint8Array | undefined {
  if (msg.length < 2) return undefined;
  const out = new Uint8Array(12);
  out.set(msg.subarray(0, 2));
  new DataView(out.buffer).setUint16(2, 0x8000 | RCODE.formErr);
  return out;
}

function aRecord(address: string): Uint8Array {
  const octets = address.split('.').map(Number);
  const r = new Uint8Array(16);
  const view = new DataView(r.buffer);
  view.setUint16(0, 0xc00c); // the name: a pointer to the question's
  view.setUint16(2, TYPE_A);
  view.setUint16(4, 1); // IN
  view.setUint32(6, 30); // TTL: short, so a policy change or a new gateway is seen soon
  view.setUint16(10, 4);
  r.set(octets, 12);
  return r;
}
