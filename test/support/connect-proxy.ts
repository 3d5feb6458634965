// An outbound HTTP proxy on loopback that tunnels CONNECT requests, as corporate proxies do for https, and records
// each tunnel: where it went, the Proxy-Authorization it got, and the local port of its upstream socket (the port the
// server sees the request come from).
import { createServer, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';

export interface Tunnel {
  target: string;
  proxyAuthorization: string | undefined;
  upstreamPort: number | undefined;
}

export interface ConnectProxy {
  url: string;
  port: number;
  tunnels: Tunnel[];
  stop(): Promise<void>;
}

/** `requireAuth`: the only Proxy-Authorization it accepts (e.g. `Basic dXNlcjpwYXNz`); others get 407. */
export async function startConnectProxy(opts: { requireAuth?: string } = {}): Promise<ConnectProxy> {
  const tunnels: Tunnel[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((_req, res) => res.writeHead(405).end('CONNECT only\n'));
  server.on('connect', (req, client: Socket, head: Buffer) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    const proxyAuthorization = req.headers['proxy-authorization'];
    const tunnel: Tunnel = { target: req.url ?? '', proxyAuthorization, upstreamPort: undefined };
    tunnels.push(tunnel);
    if (opts.requireAuth && proxyAuthorization !== opts.requireAuth) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n');
      return;
    }
    const [host, port] = (req.url ?? '').split(':');
    // Loopback only: this proxy exists for tests and must never reach out.
    if (host !== '127.0.0.1' && host !== 'localhost') {
      client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    const upstream = connect(Number(port), host, () => {
      tunnel.upstreamPort = upstream.localPort;
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    tunnels,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
