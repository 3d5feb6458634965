// What `factory init` writes: a commented config that validates as written, with one Tier-1 profile and one repo,
// and the lane profiles of examples/factory.yml shown in comments so an operator turns them on by removing the `#`.

export function starterConfig(schemaPath: string): string {
  return `# yaml-language-server: $schema=${schemaPath}
# factory controller settings. Check with: factory validate --config THIS_FILE
# Every key and its default: docs/configuration in the factory repo, or the JSON Schema named above.

github:
  # A token with repository Administration: read and write, and Actions: read, on each repo below ...
  auth: { tokenEnv: FACTORY_GITHUB_TOKEN }
  # ... or a GitHub App (recommended): its id, its private key, and optionally the installation id.
  # auth: { appId: 123456, privateKeyPath: /etc/factory/app.pem }
  webhook:
    port: 8080            # GitHub sends workflow_job deliveries here (put TLS in front)
    path: /webhook
    secret: { env: FACTORY_WEBHOOK_SECRET }   # or { file: /etc/factory/webhook-secret }

# Per-job copies of lane logins and rendered MCP files; must be a path on the Docker host.
stateDir: /var/lib/factory
# /metrics, /status and the status page: loopback unless you mean otherwise.
status: { host: 127.0.0.1, port: 8081 }
maxConcurrent: 4          # job containers across all repos
# A lane's refreshed login is written back only after the provider says it is the host's own account.
loginCheck: {}

profiles:
  # Tier 1: plain CI in a clean toolchain container, no secrets, no host network.
  ci:
    labels: [self-hosted, factory, ci]
    image: factory/base:0.1.0      # built by: factory images build
    cpus: 2
    memory: 4g
  # Tier 2: a codex lane with the host's subscription login (uncomment, and list it on a repo below). It reaches
  # only the names under egress, through a gateway outside its container (docs/lanes.md#egress): a host service
  # such as Paperclip goes under egress.loopback ("127.0.0.1:3100"), an MCP server's host under egress.allow.
  # codex:
  #   labels: [self-hosted, factory, codex]
  #   image: factory/base:0.1.0
  #   trusted: true
  #   lane: codex
  #   credential: codex-main
  #   agentUser: "1001:1001"       # the agent runs as its own user, away from the runner's token and files
  #   network: bridge              # where the egress gateway goes out; egress refuses host networking
  #   mounts:
  #     - { kind: auth, agent: codex, source: /home/factory/.codex }
  #     - { kind: workspace }
  #   egress:
  #     allow:
  #       - github.com             # the runner's own GitHub hosts, and git
  #       - api.github.com
  #       - codeload.github.com    # the actions a workflow uses
  #       - "*.actions.githubusercontent.com"
  #       # - "*.blob.core.windows.net"  # job summaries, live logs: but any Azure account (docs/lanes.md#egress)
  #       - api.openai.com         # the model API
  #       - chatgpt.com            # codex's ChatGPT login
  #       - auth.openai.com        # and its refresh

repos:
  - repo: your-org/your-repo
    profiles: [ci]
    maxConcurrent: 2
`;
}
