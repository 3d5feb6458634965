// The status port answers only requests whose Host names it as no other site can (an IP address, localhost, the
// configured host): a page whose own name a DNS-rebinding attacker re-points at 127.0.0.1 gets nothing from it.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isExpectedHost, startStatusServer, type StatusServer } from '../../controller/status/status-server.js';
import type { StatusSnapshot } from '../../controller/status/status-snapshot.js';

let server: StatusServer;
let port: number;
beforeAll(async () => {
  server = await startStatusServer('127.0.0.1', 0, {
    metrics: async () => ({ contentType: 'text/plain', text: 'factory_up 1\n' }),
    status: () => ({ runners: [] }) as unknown as StatusSnapshot,
    job: () => undefined,
  });
  port = Number(new URL(server.url).port);
});
afterAll(() => server.close());

/** A GET to 127.0.0.1 with the Host header a browser would send for the page's own name. */
const get = (path: string, host: string) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });

describe('the status port and the Host header', () => {
  it('refuses a rebound name with 421 on every route, saying which Host to use', async () => {
    for (const path of ['/status', '/metrics', '/jobs/1', '/'])
      expect(await get(path, `rebind.attacker.example:${port}`)).toMatchObject({ status: 421 });
    expect(JSON.parse((await get('/status', 'attacker.example')).body).error).toBe(
      'Host "attacker.example" is not this server\'s: use its IP address, localhost or 127.0.0.1',
    );
  });

  it('answers curl, Prometheus and the page by IP address or localhost', async () => {
    expect(await get('/metrics', `127.0.0.1:${port}`)).toMatchObject({ status: 200, body: 'factory_up 1\n' });
    expect((await get('/status', `localhost:${port}`)).status).toBe(200);
    expect((await get('/status', `[::1]:${port}`)).status).toBe(200);
  });

  it('accepts the configured host name, and nothing that merely contains it', () => {
    expect(isExpectedHost('factory.internal:8081', 'factory.internal')).toBe(true);
    expect(isExpectedHost('FACTORY.internal.', 'factory.internal')).toBe(true);
    expect(isExpectedHost('factory.internal.attacker.example', 'factory.internal')).toBe(false);
    expect(isExpectedHost('localhost.attacker.example', '127.0.0.1')).toBe(false);
    expect(isExpectedHost(undefined, '127.0.0.1')).toBe(false);
  });
});
