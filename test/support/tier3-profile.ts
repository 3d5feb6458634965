/** The org's connection map (docs/real-host.md) as one profile: both logins, secrets, the PKM store, Paperclip on loopback, MCP. */
export const TIER3_PROFILE = {
  trusted: true,
  lane: 'claude',
  network: 'host',
  probes: ['http://127.0.0.1:3100/api/health'],
  credential: 'ali-subscriptions',
  mounts: [
    { kind: 'auth', agent: 'codex', source: '/home/ali/.codex' },
    { kind: 'auth', agent: 'claude', source: '/home/ali/.claude', claudeJson: '/home/ali/.claude.json' },
    { kind: 'secrets', source: '/srv/aina-hq/.secrets' },
    { kind: 'data', source: '/home/ali/PKM', target: '/data/pkm' },
    { kind: 'workspace' },
  ],
  envFiles: ['/srv/aina-hq/.secrets/linear.env', '/srv/aina-hq/.secrets/sentry-api-token.env'],
  mcp: [
    {
      name: 'pkm-agent',
      command: 'uv',
      args: ['--directory', '/data/pkm-agent', 'run', 'pkm-agent'],
      env: { PKM_STORE: '/data/pkm' },
    },
    { name: 'codegraph', command: 'codegraph', args: ['serve', '--mcp', '--no-watch'] },
    { name: 'playwright', command: 'npx', args: ['@playwright/mcp@0.0.41'] },
    {
      name: 'github',
      command: 'github-mcp-server',
      args: ['stdio'],
      env: { GITHUB_TOOLSETS: 'repos,issues,pull_requests' },
    },
    { name: 'linear', url: 'https://mcp.linear.app/mcp', tokenEnv: 'LINEAR_TOKEN' },
    { name: 'sentry', url: 'https://mcp.sentry.dev/mcp', tokenEnv: 'SENTRY_TOKEN' },
    { name: 'cloudflare-docs', url: 'https://docs.mcp.cloudflare.com/mcp' },
  ],
};
