// The broker's keep-alive connections to the providers and MCP servers, one pool per protocol for every job's broker.
import http from 'node:http';
import https from 'node:https';

const agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };

/** The pool for `target`'s protocol. */
export const upstreamAgent = (target: URL) => (target.protocol === 'https:' ? agents.https : agents.http);
