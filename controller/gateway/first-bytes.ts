// Which host a connection that ignored the proxy asks for, read from its first bytes: the server name of a TLS
// ClientHello (SNI), or the Host header of an HTTP request. Pure, shipped into the gateway as is.

export type Peek =
  { kind: 'more' } | { kind: 'host'; host: string; protocol: 'tls' | 'http' } | { kind: 'none'; reason: string };

/** Neither a ClientHello nor a request head is this long; a client that sends more without saying is refused. */
export const PEEK_LIMIT = 16 * 1024;

export function peekHost(buf: Uint8Array): Peek {
  if (buf.length === 0) return { kind: 'more' };
  const peek = buf[0] === 0x16 ? tlsServerName(buf) : httpHost(buf);
  if (peek.kind === 'more' && buf.length >= PEEK_LIMIT) return { kind: 'none', reason: 'no host in the first 16 KiB' };
  return peek;
}

function tlsServerName(buf: Uint8Array): Peek {
  if (buf.length < 5) return { kind: 'more' };
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const recordEnd = 5 + view.getUint16(3);
  if (buf.length < recordEnd) return { kind: 'more' };
  // A ClientHello split over several records is legal but no client sends one: refuse it rather than reassemble.
  let at = 5;
  if (buf[at] !== 0x01) return { kind: 'none', reason: 'not a TLS ClientHello' };
  const helloEnd = at + 4 + ((buf[at + 1]! << 16) | view.getUint16(at + 2));
  if (helloEnd > recordEnd) return { kind: 'none', reason: 'a ClientHello over several records' };
  at += 4 + 2 + 32; // type and length, version, random
  const skip = (lenBytes: 1 | 2) => {
    if (at + lenBytes > helloEnd) return false;
    at += lenBytes + (lenBytes === 1 ? buf[at]! : view.getUint16(at));
    return at <= helloEnd;
  };
  if (!skip(1) || !skip(2) || !skip(1)) return { kind: 'none', reason: 'a malformed ClientHello' };
  if (at + 2 > helloEnd) return { kind: 'none', reason: 'a ClientHello without a server name' };
  const extEnd = Math.min(helloEnd, at + 2 + view.getUint16(at));
  at += 2;
  while (at + 4 <= extEnd) {
    const type = view.getUint16(at);
    const len = view.getUint16(at + 2);
    at += 4;
    if (type === 0 && at + 5 <= extEnd && buf[at + 2] === 0) {
      const nameLen = view.getUint16(at + 3);
      if (at + 5 + nameLen > extEnd) break;
      return { kind: 'host', host: String.fromCharCode(...buf.subarray(at + 5, at + 5 + nameLen)), protocol: 'tls' };
    }
    at += len;
  }
  return { kind: 'none', reason: 'a ClientHello without a server name' };
}

function httpHost(buf: Uint8Array): Peek {
  const text = String.fromCharCode(...buf.subarray(0, PEEK_LIMIT));
  if (!/^[A-Z]{3,10} \S/.test(text.slice(0, 12)) && text.length >= 12)
    return { kind: 'none', reason: 'neither TLS nor HTTP' };
  const headEnd = text.indexOf('\r\n\r\n');
  if (headEnd < 0) return { kind: 'more' };
  const host = /\r\nhost:[ \t]*([^\r\n]*)/i.exec(text.slice(0, headEnd + 2))?.[1]?.trim();
  if (!host) return { kind: 'none', reason: 'an HTTP request without a Host header' };
  return { kind: 'host', host: host.replace(/:\d+$/, ''), protocol: 'http' };
}
