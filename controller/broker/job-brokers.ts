// The controller's brokers, one per running brokered job: started at launch (before the container, so its address
// can be in the job's files), recorded in the job folder for the release to write placeholders with, and closed when
// the job is cleaned up. A profile the broker cannot serve falls back to copying the login, with the reason. A
// restarted controller starts an adopted job's broker again from that record (daemon/broker-restore.ts).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Agent } from '../../lane-contract/agents.js';
import type { Config, Profile } from '../config/config.js';
export { brokerFallback } from '../config/broker-gate.js';
import type { ContainerSpec } from '../docker/container-spec.js';
import { BROKER_FILE, type BrokerGrant } from '../lanes/broker-placeholders.js';
import { GH_SOCKET } from '../lanes/gh-login.js';
import { rewriteMcpFiles } from '../lanes/job-folder.js';
import { jobDir } from '../lanes/lane-layout.js';
import { releasedGhDir } from '../lanes/release.js';
import { BROKER_URL_MARK, brokeredMcpServers } from '../lanes/mcp-render.js';
import { LoginRefreshers, type LoginSource } from './login-refresher.js';
import { McpLoginRefreshers } from './mcp-login-refresher.js';
import { startGhBroker, type GhBroker } from './gh-broker.js';
import { newPlaceholder, startModelBroker, type ModelBroker } from './model-broker.js';

export function loginsOf(profile: Profile): Map<Agent, LoginSource> {
  const logins = new Map<Agent, LoginSource>();
  for (const m of profile.mounts)
    if (m.kind === 'auth')
      logins.set(m.agent as Agent, { agent: m.agent as Agent, source: m.source, claudeJson: m.claudeJson });
  return logins;
}

/**
 * A job's broker as a restarted controller starts it again, from the grant in the job's folder: the same placeholder,
 * which the job's files and environment hold, and for a host-network job the same loopback port, where it reaches the
 * broker directly. Behind egress the broker takes any port: the job reaches it through its gateway's relay.
 */
export interface BrokerRestart {
  token: string;
  /** The loopback port a host-network job was given; unset for a job that reaches its broker through a relay. */
  port?: number;
  /** The placeholder of the job's gh login, whose sockets are opened again in its gh folders. */
  gh?: string;
}

/** What a job's grant says of how it reaches its broker: 127.0.0.1 is the host's loopback, any other its gateway. */
export function restartOf(grant: BrokerGrant): BrokerRestart {
  const url = new URL(grant.url);
  const gh = grant.gh !== undefined ? { gh: grant.gh } : {};
  if (url.hostname !== '127.0.0.1') return { token: grant.token, ...gh };
  const port = Number(url.port);
  if (!Number.isInteger(port) || port <= 0) throw new Error(`broker grant names no port: ${grant.url}`);
  return { token: grant.token, port, ...gh };
}

/** A job's gh login: its placeholder, the profile's gh mounts (by index) and, once opened, their sockets' servers. */
interface JobGh {
  token: string;
  mounts: Array<{ index: number; source: string }>;
  servers: GhBroker[];
}

export class JobBrokers {
  private readonly running = new Map<string, ModelBroker>();
  private readonly gh = new Map<string, JobGh>();
  private readonly refreshers: LoginRefreshers;
  private readonly mcpLogins = new McpLoginRefreshers();

  constructor(private readonly config: () => Config) {
    const b = config().broker;
    this.refreshers = new LoginRefreshers({ codex: b.codexTokenUrl, claude: b.claudeTokenUrl });
  }

  /**
   * Starts the job's broker; its port is what the job's gateway relays, or what host networking reaches. `restart`:
   * the broker of a job launched by an earlier controller, as its grant recorded it (a taken port fails the start);
   * its gh sockets are opened again at once (a launch opens them at the grant, once the job's folder exists).
   */
  async start(profile: Profile, runnerName: string, restart?: BrokerRestart): Promise<ModelBroker> {
    const b = this.config().broker;
    const logins = loginsOf(profile);
    const claude = logins.get('claude');
    const broker = await startModelBroker(
      {
        runnerName,
        logins,
        models: profile.models,
        // What the job was given decides, not what the profile says now: it may have been edited since.
        relayedOnly: restart ? restart.port === undefined : profile.egress !== undefined,
        mcp: {
          servers: brokeredMcpServers(profile),
          envFiles: profile.envFiles,
          ghSource: profile.mounts.find((m) => m.kind === 'gh')?.source,
          // The oauth servers' logins, where the host's claude keeps them beside its own.
          claudeCredentials: claude && join(claude.source, '.credentials.json'),
        },
      },
      {
        refreshers: this.refreshers,
        mcpLogins: this.mcpLogins,
        upstreams: b,
        ...(restart && { token: restart.token, port: restart.port }),
      },
    );
    this.running.set(runnerName, broker);
    const mounts = profile.mounts.flatMap((m, index) => (m.kind === 'gh' ? [{ index, source: m.source }] : []));
    if (mounts.length > 0) this.gh.set(runnerName, { token: restart?.gh ?? newPlaceholder(), mounts, servers: [] });
    if (restart?.gh) await this.openGh(runnerName);
    return broker;
  }

  /** Opens the job's gh sockets, one in each of its gh folders (gh-broker.ts). */
  private async openGh(runnerName: string): Promise<void> {
    const gh = this.gh.get(runnerName);
    for (const m of gh?.mounts ?? []) {
      const socketPath = join(releasedGhDir(this.config(), runnerName, m.index), GH_SOCKET);
      gh!.servers.push(await startGhBroker({ socketPath, token: gh!.token, source: m.source }, this.config().broker));
    }
  }

  /**
   * The job's container with the broker's address in its environment (claude asks its API before it reads its
   * settings). `url`: where the job reaches it (its gateway's broker port behind egress); unset, the controller's
   * loopback, which a host-network job shares.
   */
  withBroker<S extends ContainerSpec>(spec: S, runnerName: string, profile: Profile, url?: string): S {
    const broker = this.running.get(runnerName);
    if (!broker || !loginsOf(profile).has('claude')) return spec;
    return { ...spec, Env: [...spec.Env, `ANTHROPIC_BASE_URL=${url ?? `http://127.0.0.1:${broker.port}`}`] };
  }

  /**
   * Records where the job reaches its broker (as withBroker's `url`) and its placeholders, for the release, writes
   * that address into the job's rendered MCP entries for its brokered servers (mcp-render.ts), and opens its gh
   * login's sockets in its gh folders, which exist by now (the launch made the job folder).
   */
  async grant(runnerName: string, url?: string): Promise<void> {
    const broker = this.running.get(runnerName);
    if (!broker) return;
    await this.openGh(runnerName);
    const gh = this.gh.get(runnerName);
    const grant: BrokerGrant = {
      token: broker.token,
      url: url ?? `http://127.0.0.1:${broker.port}`,
      ...(gh ? { gh: gh.token } : {}),
    };
    await writeFile(join(jobDir(this.config(), runnerName), BROKER_FILE), JSON.stringify(grant), { mode: 0o600 });
    await rewriteMcpFiles(this.config(), runnerName, (text) => text.replaceAll(BROKER_URL_MARK, grant.url));
  }

  /** Whether this process runs the runner's broker (a launch Docker cut short keeps its own for the adoption). */
  has(runnerName: string): boolean {
    return this.running.has(runnerName);
  }

  async close(runnerName: string): Promise<void> {
    const broker = this.running.get(runnerName);
    const gh = this.gh.get(runnerName);
    this.running.delete(runnerName);
    this.gh.delete(runnerName);
    await Promise.all([broker?.close(), ...(gh?.servers ?? []).map((s) => s.close())]);
  }

  /** Closes the brokers of runners `keep` does not know (a launch that failed past its start). */
  async sweep(keep: (runnerName: string) => boolean): Promise<void> {
    await Promise.all([...this.running.keys()].filter((n) => !keep(n)).map((n) => this.close(n)));
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.running.keys()].map((n) => this.close(n)));
  }
}
