// The gateway resolver's wire format, checked against queries built byte by byte as a stub resolver sends them.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { answer, formatError, parseQuery, RCODE } from '../../controller/gateway/dns-message.js';

function query(name: string, type = 1, id = 0x1234): Uint8Array {
  const labels = name.split('.').flatMap((l) => [l.length, ...Buffer.from(l, 'latin1')]);
  return Uint8Array.from([id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, ...labels, 0, 0, type, 0, 1]);
}

describe('parseQuery and answer', () => {
  it('reads the one question and answers it with one A record of the given address', () => {
    const msg = query('api.anthropic.test');
    const q = parseQuery(msg)!;
    expect(q).toMatchObject({ id: 0x1234, name: 'api.anthropic.test', type: 1, qclass: 1, questionEnd: msg.length });
    const out = Buffer.from(answer(msg, q, RCODE.noError, '172.19.0.2'));
    expect(out.readUInt16BE(0)).toBe(0x1234);
    expect(out.readUInt16BE(2)).toBe(0x8500); // QR, AA, RD echoed, NOERROR
    expect(out.readUInt16BE(6)).toBe(1);
    expect([...out.subarray(out.length - 4)]).toEqual([172, 19, 0, 2]);
  });

  it('answers NXDOMAIN with no record', () => {
    const msg = query('pastebin.test');
    const out = Buffer.from(answer(msg, parseQuery(msg)!, RCODE.nxDomain));
    expect(out.readUInt16BE(2) & 0xf).toBe(3);
    expect(out.readUInt16BE(6)).toBe(0);
    expect(out.length).toBe(msg.length);
  });

  it('reads no query from a response, a compression pointer, a truncated message or two questions', () => {
    const msg = query('a.test');
    expect(parseQuery(Uint8Array.from([...msg.subarray(0, 2), 0x81, 0x00, ...msg.subarray(4)]))).toBeUndefined();
    expect(parseQuery(Uint8Array.from([...msg.subarray(0, 12), 0xc0, 0x0c, 0, 1, 0, 1]))).toBeUndefined();
    expect(parseQuery(msg.subarray(0, msg.length - 1))).toBeUndefined();
    expect(parseQuery(Uint8Array.from([...msg.subarray(0, 4), 0, 2, ...msg.subarray(6)]))).toBeUndefined();
    expect(Buffer.from(formatError(msg)!).readUInt16BE(2)).toBe(0x8001);
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const q = parseQuery(bytes);
        if (q) answer(bytes, q, RCODE.nxDomain);
      }),
    );
  });
});
