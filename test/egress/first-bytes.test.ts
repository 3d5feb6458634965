// The host a connection that ignored the proxy asks for: a real ClientHello's SNI, an HTTP request's Host.
import { connect } from 'node:tls';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { peekHost } from '../../controller/gateway/first-bytes.js';

/** The first bytes Node's own TLS client sends for `servername`, caught on a loopback listener. */
async function clientHello(servername: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const server = createServer((s) => {
      s.once('data', (d) => {
        resolve(d);
        s.destroy();
        server.close();
      });
    }).listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      connect({ host: '127.0.0.1', port, servername }).on('error', () => {});
    });
    server.on('error', reject);
  });
}

describe('peekHost', () => {
  it("reads the server name of a real TLS client's ClientHello, asking for more until it is whole", async () => {
    const hello = await clientHello('api.anthropic.test');
    expect(peekHost(hello)).toEqual({ kind: 'host', host: 'api.anthropic.test', protocol: 'tls' });
    expect(peekHost(hello.subarray(0, 40))).toEqual({ kind: 'more' });
  });

  it('reads the Host header of an HTTP request, without its port', () => {
    const req = Buffer.from('GET / HTTP/1.1\r\nUser-Agent: x\r\nHost: api.test:8080\r\n\r\n');
    expect(peekHost(req)).toEqual({ kind: 'host', host: 'api.test', protocol: 'http' });
    expect(peekHost(req.subarray(0, 20))).toEqual({ kind: 'more' });
  });

  it('finds no host in other protocols, an HTTP request without Host, or 16 KiB without an end', () => {
    expect(peekHost(Buffer.from('SSH-2.0-OpenSSH_9.2\r\n'))).toMatchObject({ kind: 'none' });
    expect(peekHost(Buffer.from('GET / HTTP/1.0\r\n\r\n'))).toMatchObject({ kind: 'none' });
    expect(peekHost(Buffer.from(`GET / HTTP/1.1\r\nX: ${'a'.repeat(17_000)}`))).toMatchObject({ kind: 'none' });
  });

  it('never throws on arbitrary bytes after a TLS handshake byte', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (b) => void peekHost(Uint8Array.from([0x16, ...b]))));
  });
});
