// A hosted MCP server on loopback, as Linear's or Sentry's: streamable HTTP, and a bearer token it checks. It answers
// 401 to any other, as the real servers do, and records every Authorization header it was sent.
import { createServer, type Server } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

export interface FakeHostedMcp {
  url: string;
  /** Every Authorization header a request carried ('' for none). */
  authorizations: string[];
  close(): Promise<void>;
}

export async function startFakeHostedMcp(name: string, token: string): Promise<FakeHostedMcp> {
  const authorizations: string[] = [];
  const server: Server = createServer((req, res) => {
    const auth = req.headers.authorization ?? '';
    authorizations.push(auth);
    if (auth !== `Bearer ${token}`) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid_token"}');
      return;
    }
    // Stateless: one server and transport per request, as the SDK's stateless example does.
    const mcp = new McpServer({ name, version: '1.0.0' });
    mcp.registerTool('whoami', { description: 'The account this login belongs to.' }, async () => ({
      content: [{ type: 'text', text: `${name} account: the host's own` }],
    }));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => void transport.close().then(() => mcp.close()));
    void mcp.connect(transport).then(() => transport.handleRequest(req, res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    authorizations,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
