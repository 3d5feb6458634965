// MCP servers for the pre-flight's tests and bench: a stdio server as a small node script (one tool, newline-delimited
// JSON-RPC as the SDK's stdio transport speaks it), and an HTTP one on loopback that answers or fails as told.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const STDIO_SERVER = `
const rl = require('node:readline').createInterface({ input: process.stdin });
const send = (m) => process.stdout.write(JSON.stringify(m) + '\\n');
rl.on('line', (line) => {
  const m = JSON.parse(line);
  if (m.method === 'initialize')
    send({ jsonrpc: '2.0', id: m.id, result: { protocolVersion: m.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'stand-in', version: '1' } } });
  else if (m.method === 'tools/list')
    send({ jsonrpc: '2.0', id: m.id, result: { tools: [{ name: 'lookup', description: 'Looks up.', inputSchema: { type: 'object' } }] } });
  else if (m.id !== undefined) send({ jsonrpc: '2.0', id: m.id, error: { code: -32601, message: 'no such method' } });
});
`;

/** Writes the stdio stand-in into `dir`; returns its claude config entry. */
export function stdioMcpServer(dir: string): { command: string; args: string[] } {
  const path = join(dir, 'stand-in-mcp.cjs');
  writeFileSync(path, STDIO_SERVER);
  return { command: process.execPath, args: [path] };
}

export interface HttpMcpServer {
  url: string;
  /** Every request's Authorization header, to see that the check sent the lane's. */
  authorizations: Array<string | undefined>;
  close(): Promise<void>;
}

/** Streamable HTTP with JSON answers; `status` other than 200 fails every request with it. */
export async function startHttpMcpServer(status = 200): Promise<HttpMcpServer> {
  const authorizations: Array<string | undefined> = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      authorizations.push(req.headers.authorization);
      if (status !== 200) {
        res.writeHead(status, { 'content-type': 'text/plain' });
        return res.end('internal error in the stand-in');
      }
      if (req.method !== 'POST' || !body) {
        // claude also opens a GET stream for server messages; the stand-in has none to send.
        res.writeHead(405);
        return res.end();
      }
      const m = JSON.parse(body) as { id?: number; method: string; params?: { protocolVersion?: string } };
      if (m.id === undefined) {
        res.writeHead(202);
        return res.end();
      }
      const result =
        m.method === 'initialize'
          ? {
              protocolVersion: m.params?.protocolVersion,
              capabilities: { tools: {} },
              serverInfo: { name: 'h', version: '1' },
            }
          : { tools: [{ name: 'search', inputSchema: { type: 'object' } }] };
      res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'stand-in-session' });
      res.end(JSON.stringify({ jsonrpc: '2.0', id: m.id, result }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`,
    authorizations,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
