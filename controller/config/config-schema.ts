// The shape of `factory.yml`: every field, its default and its own rules, as one zod schema. The checks that read
// across sections (trust, repos' profiles, swarm placement) are applied on top of it in config.ts, so the trust gate
// can take these types without importing the parser that calls it.
import { z } from 'zod';
import { AGENTS } from '../../lane-contract/agents.js';
import { normalisePath } from './host-path-map.js';
import { parseBytes, parseDuration } from './units.js';
import { egressSchema } from './egress-schema.js';

const REPO = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ORG = /^[A-Za-z0-9][A-Za-z0-9-]*$/;
const REPO_GLOB = /^[A-Za-z0-9_.*?-]+$/;
const PROFILE_NAME = /^[a-z0-9][a-z0-9_-]*$/;
const PLACEMENT = /^\s*(node|engine)\.[A-Za-z0-9_.-]+\s*(==|!=)\s*\S.*$/;

const got = (input: unknown) => JSON.stringify(input);
const envName = z
  .string()
  .regex(ENV_NAME, { error: (i) => `expected an environment variable name, got ${got(i.input)}` });

const SECOND = 1_000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const spoken = (ms: number) =>
  ms % DAY === 0 ? `${ms / DAY}d` : ms % HOUR === 0 ? `${ms / HOUR}h` : `${ms / SECOND}s`;

/** A duration within [min, max]: out of range, a timer overflows (Node wraps past 2^31 ms to 1 ms) or spins. */
const duration = (min: number, max: number) =>
  z.union([z.string(), z.number()]).transform((v, ctx) => {
    const ms = parseDuration(v);
    if (ms === undefined || ms <= 0) {
      ctx.addIssue({ code: 'custom', message: `expected a duration such as "90s", "5m" or "6h", got ${got(v)}` });
      return z.NEVER;
    }
    if (ms < min || ms > max) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a duration between ${spoken(min)} and ${spoken(max)}, got ${got(v)}`,
      });
      return z.NEVER;
    }
    return ms;
  });

const bytes = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const n = parseBytes(v);
  if (n === undefined) {
    ctx.addIssue({ code: 'custom', message: `expected a size such as "512m" or "4g", got ${got(v)}` });
    return z.NEVER;
  }
  return n;
});

// Secrets are named, never written: a token or webhook secret in a committed YAML file is a leak waiting to happen.
const secretRef = (what: string) =>
  z
    .strictObject({ env: envName.optional(), file: z.string().min(1).optional() })
    .refine((s) => (s.env === undefined) !== (s.file === undefined), {
      message: `${what}: give exactly one of env or file`,
    });

const tokenAuth = z
  .strictObject({ tokenEnv: envName.optional(), tokenFile: z.string().min(1).optional() })
  .refine((a) => (a.tokenEnv === undefined) !== (a.tokenFile === undefined), {
    message: 'give exactly one of tokenEnv or tokenFile',
  });
const appAuth = z.strictObject({
  appId: z.union([z.number().int().positive(), z.string().regex(/^\d+$/)]).transform(Number),
  privateKeyPath: z.string().min(1),
  installationId: z.number().int().positive().optional(),
});

const githubSchema = z.strictObject({
  apiUrl: z
    .url({ error: (i) => `expected an http(s) URL, got ${got(i.input)}` })
    .default('https://api.github.com')
    .transform((u) => u.replace(/\/+$/, '')),
  auth: z.union([appAuth, tokenAuth], {
    error: 'expected { tokenEnv: NAME } or { tokenFile: PATH } or { appId, privateKeyPath, installationId? }',
  }),
  // Where GitHub delivers workflow_job events: required with `intake: webhook` (config.ts says so, naming this
  // path), unused with `intake: scaleset`, which opens no port for GitHub.
  webhook: z
    .strictObject({
      host: z.string().default('0.0.0.0'),
      port: z.number().int().min(0).max(65535).default(8080),
      path: z.string().startsWith('/', { error: 'expected a path starting with "/"' }).default('/webhook'),
      secret: secretRef('webhook secret'),
      // HTTPS on the webhook port itself, from PEM files (the certificate with its chain, the key); re-read on SIGHUP
      // and config reloads, so a renewed certificate needs no restart. Unset: plain HTTP, for TLS terminated in front.
      tls: z
        .strictObject({
          certFile: z.string().startsWith('/', { error: (i) => `expected an absolute path, got ${got(i.input)}` }),
          keyFile: z.string().startsWith('/', { error: (i) => `expected an absolute path, got ${got(i.input)}` }),
        })
        .optional(),
    })
    .optional(),
});

const MIN_MEMORY = 32 * 1024 ** 2;
const MAX_MEMORY = 1024 ** 4;

const absolutePath = z.string().startsWith('/', { error: (i) => `expected an absolute path, got ${got(i.input)}` });
// A file at the secrets folder's top level, as the release copies it: a name, never a path that leaves the folder.
const secretFileName = z.string().refine((n) => n.length > 0 && !n.includes('/') && n !== '.' && n !== '..', {
  error: (i) => `expected a file name inside the secrets folder (no "/"), got ${got(i.input)}`,
});
const agentName = z.enum(AGENTS, { error: (i) => `expected codex or claude, got ${got(i.input)}` });

// Each kind of mount carries one connection of the connection map across the container boundary (docs/real-host.md).
export const mountSchema = z.discriminatedUnion(
  'kind',
  [
    // Subscription credentials: the job gets a private copy; refreshed tokens are written back when it ends.
    z.strictObject({
      kind: z.literal('auth'),
      agent: agentName,
      source: absolutePath,
      claudeJson: absolutePath.optional(),
    }),
    // `files` names what the lane gets of the folder: a store that also holds a root breakglass note must not hand
    // it to every agent that has an API key to use. Without `files`, every regular file at its top level.
    z.strictObject({
      kind: z.literal('secrets'),
      source: absolutePath,
      target: absolutePath.default('/factory/secrets'),
      files: z.array(secretFileName).min(1, { error: 'list at least one file, or leave files out' }).optional(),
    }),
    z.strictObject({ kind: z.literal('data'), source: absolutePath, target: absolutePath }),
    // Each job's own folder, owned by the container user and removed with the job: concurrent jobs never share one.
    z.strictObject({ kind: z.literal('workspace'), target: absolutePath.default('/home/runner/_work') }),
    // Opt-in tool cache kept between jobs of one repo and profile (pnpm store, uv cache), under stateDir/caches.
    z.strictObject({
      kind: z.literal('cache'),
      name: z
        .string()
        .regex(/^[a-z0-9][a-z0-9_.-]*$/, { error: (i) => `expected a lowercase cache name, got ${got(i.input)}` }),
      target: absolutePath,
    }),
    z.strictObject({
      kind: z.literal('bind'),
      source: absolutePath,
      target: absolutePath,
      mode: z.enum(['ro', 'rw']).default('ro'),
    }),
    // The host's gh login (~/.config/gh), always read-only: gh and the GitHub MCP server read the token, none writes it.
    z.strictObject({
      kind: z.literal('gh'),
      source: absolutePath,
      target: absolutePath.default('/home/runner/.config/gh'),
    }),
  ],
  {
    error: (i) =>
      `expected a mount with kind auth, secrets, data, gh, workspace, cache or bind, got kind ${got((i.input as { kind?: unknown })?.kind)}`,
  },
);

export const MCP_CREDENTIALS = ['token', 'oauth', 'gh', 'none'] as const;
const mcpName = z
  .string()
  .regex(/^[A-Za-z0-9_-]+$/, { error: (i) => `MCP server names are letters, digits, - and _, got ${got(i.input)}` });
// One neutral form for both agents; the lane renders claude's JSON and codex's TOML from it.
export const mcpServerSchema = z.union(
  [
    z.strictObject({
      name: mcpName,
      command: z.string().min(1),
      args: z.array(z.string()).default([]),
      env: z.record(envName, z.string()).default({}),
    }),
    // Where a hosted server's credential comes from: `token`, a static bearer token from the env files (tokenEnv);
    // `oauth`, the OAuth login claude keeps for that server in the host's claude credentials, carried by the lane's
    // claude auth mount; `gh`, the host's gh login, which a brokered job's broker adds (docs/lanes.md#mcp-credentials);
    // `none`, no credential. Unset: token when tokenEnv is given, else none.
    z
      .strictObject({
        name: mcpName,
        url: z.url(),
        credential: z
          .enum(MCP_CREDENTIALS, { error: (i) => `expected token, oauth, gh or none, got ${got(i.input)}` })
          .optional(),
        tokenEnv: envName.optional(),
      })
      .superRefine((s, ctx) => {
        if (s.credential === 'token' && !s.tokenEnv)
          ctx.addIssue({ code: 'custom', path: ['tokenEnv'], message: 'credential token needs tokenEnv: NAME' });
        if (s.credential && s.credential !== 'token' && s.tokenEnv)
          ctx.addIssue({
            code: 'custom',
            path: ['tokenEnv'],
            message: `credential ${s.credential} takes no tokenEnv: leave tokenEnv out, or write credential: token`,
          });
      })
      .transform((s) => ({ ...s, credential: s.credential ?? (s.tokenEnv ? ('token' as const) : ('none' as const)) })),
  ],
  { error: 'expected { name, command, args?, env? } (stdio) or { name, url, credential?, tokenEnv? } (http)' },
);

// A job's own Docker engine (docs/job-docker.md): a sidecar daemon for that job alone, its storage a tmpfs of this size.
const jobDockerSchema = z.strictObject({
  sidecar: z.literal(true, { error: 'expected sidecar: true (leave docker out for a job without Docker)' }),
  /** rootless (default): dockerd as uid 1000 in an unprivileged container; privileged: root, host-root-equivalent. */
  mode: z
    .enum(['rootless', 'privileged'], { error: (i) => `expected rootless or privileged, got ${got(i.input)}` })
    .default('rootless'),
  /** Why a privileged sidecar is acceptable for this profile's jobs; required with mode: privileged. */
  reason: z.string().min(1).optional(),
  storage: bytes
    .pipe(
      z
        .number()
        .min(256 * 1024 ** 2, {
          error: (i) => `expected at least 256m for images and containers, got ${got(i.input)} bytes`,
        })
        .max(MAX_MEMORY, { error: (i) => `expected at most 1t, got ${got(i.input)} bytes` }),
    )
    .default(10 * 1024 ** 3),
  /** The daemon's and its containers' memory, on top of storage (the tmpfs is memory too). */
  memory: bytes
    .pipe(
      z
        .number()
        .min(128 * 1024 ** 2, { error: (i) => `expected at least 128m for the daemon, got ${got(i.input)} bytes` })
        .max(MAX_MEMORY, { error: (i) => `expected at most 1t, got ${got(i.input)} bytes` }),
    )
    .default(2 * 1024 ** 3),
  /** The sidecar image; unset: the factory-local/docker-sidecar image built from images/docker-sidecar. */
  image: z.string().min(1).optional(),
});
const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const clock = z
  .string()
  .regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: (i) => `expected a time of day such as "08:00", got ${got(i.input)}` });
const timeZone = z.string().refine(
  (tz) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  },
  { error: (i) => `expected an IANA time zone such as "Europe/Berlin", got ${got(i.input)}` },
);

// Runners kept registered, started and idle before any job asks (docs/warm-pools.md); each holds a slot under the caps.
export const warmSchema = z
  .strictObject({
    min: z.number().int().min(0).max(256),
    /** The most runners of this profile and repo, busy and idle, the pool tops up to; the caps still apply. */
    max: z.number().int().positive().max(1024).optional(),
    /** An idle runner older than this is replaced by a fresh container and a fresh JIT runner. */
    idleTimeout: duration(60 * SECOND, 7 * DAY),
    /** When set, the pool keeps `min` only inside this window of the week, and scales to zero outside it. */
    schedule: z
      .strictObject({
        timeZone,
        days: z
          .array(z.enum(DAYS, { error: (i) => `expected mon, tue, wed, thu, fri, sat or sun, got ${got(i.input)}` }))
          .min(1)
          .default([...DAYS]),
        from: clock,
        to: clock,
      })
      .refine((s) => s.from !== s.to, { error: 'from and to must differ (a window across midnight has from > to)' })
      .optional(),
  })
  .refine((w) => w.max === undefined || w.max >= w.min, { error: 'max must be at least min', path: ['max'] });

// Delivered to the job as FACTORY_BUDGET_* variables; the action enforces them (actions/lane-core/lane-budget.ts).
export const budgetSchema = z.strictObject({
  /** Wall clock of the agent's run; the action's timeout-minutes may lower it. At most a day, as the action's input. */
  wallClock: duration(SECOND, DAY).optional(),
  /** Model responses (claude's --max-turns). */
  turns: z.number().int().positive().optional(),
  /** Input plus output tokens. */
  tokens: z.number().int().positive().optional(),
  /** US dollars; claude only, codex reports no cost. */
  costUsd: z.number().positive().optional(),
});

export const profileSchema = z.strictObject({
  labels: z.array(z.string().min(1)).min(1, { error: 'a profile needs at least one label' }),
  image: z.string().min(1),
  // Zero means "unlimited" to Docker, and a tiny value rounds to zero (cpus 1e-10 is 0 NanoCpus): both are refused.
  cpus: z
    .number()
    .min(0.01, {
      error: (i) => `expected at least 0.01 CPUs (Docker's smallest quota; less means unlimited), got ${got(i.input)}`,
    })
    .max(1024, { error: (i) => `expected at most 1024 CPUs, got ${got(i.input)}` })
    .default(2),
  memory: bytes
    .pipe(
      z
        .number()
        .min(MIN_MEMORY, {
          error: (i) =>
            `expected at least 32m (a runner cannot start in less; 0 means unlimited), got ${got(i.input)} bytes`,
        })
        .max(MAX_MEMORY, { error: (i) => `expected at most 1t, got ${got(i.input)} bytes` }),
    )
    .default(4 * 1024 ** 3),
  pids: z
    .number()
    .int()
    .min(32, {
      error: (i) => `expected at least 32 processes (the runner alone uses dozens of threads), got ${got(i.input)}`,
    })
    .max(4_194_304, { error: (i) => `expected at most 4194304 (the kernel's pid_max), got ${got(i.input)}` })
    .default(4096),
  // none | bridge | host, or the name of an existing Docker network.
  network: z.string().min(1).default('bridge'),
  env: z.record(envName, z.string()).default({}),
  /** Files of KEY=VALUE lines read at job start; values go to the container, never to the log. */
  envFiles: z.array(absolutePath).default([]),
  /** Marks a lane profile (Tier 2/3): only these may carry credentials, secrets, data, host networking. */
  trusted: z.boolean().default(false),
  lane: agentName.optional(),
  mounts: z.array(mountSchema).default([]),
  mcp: z.array(mcpServerSchema).default([]),
  probes: z.array(z.url()).default([]),
  /** A name for the profile's logins; jobs holding one login (auth source) run one at a time whatever it is called. */
  credential: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/)
    .optional(),
  credentialConcurrency: z.number().int().positive().default(1),
  /**
   * How the profile's logins reach the job: `copy` puts a private copy of the host's login in the job folder (written
   * back when refreshed); `broker` puts placeholders there and serves the model API through a host-side broker that
   * holds the real token (docs/security.md "The model broker").
   */
  auth: z.enum(['copy', 'broker'], { error: (i) => `expected copy or broker, got ${got(i.input)}` }).default('copy'),
  /** The models a brokered job may ask for (a trailing * matches any rest); empty: every model. */
  models: z.array(z.string().regex(/^[A-Za-z0-9._:/-]+\*?$/)).default([]),
  /** The container user; unset runs as 1000:1000, the runner image's user. Never left to the image (it may be root). */
  user: z
    .string()
    .regex(/^\d+(:\d+)?$/, { error: (i) => `expected a numeric "uid" or "uid:gid", got ${got(i.input)}` })
    .optional(),
  // Docker leaves both at the daemon's own limits. The container cannot go above the daemon's hard limit (it fails to
  // start), hence settable. nproc counts the uid's processes host-wide (every runner is uid 1000): a backstop above
  // `pids`, which is the per-container cap.
  nofile: z.number().int().min(256).max(1_048_576).default(16_384),
  nproc: z.number().int().min(256).max(4_194_304).default(65_536),
  /** Capabilities added back after CapDrop ALL; the runner as uid 1000 needs none. Trusted profiles only. */
  capAdd: z
    .array(
      z.string().regex(/^(CAP_)?[A-Z_]+$/, {
        error: (i) => `expected a capability name such as NET_BIND_SERVICE, got ${got(i.input)}`,
      }),
    )
    .default([]),
  /** The lane image's agent user ("uid:gid", not root): the action runs the agent as it through the image's helper,
   * so the container keeps SETUID/SETGID and goes without no-new-privileges (docs/lane-isolation.md). Trusted only. */
  agentUser: z
    .string()
    .regex(/^[1-9]\d*:\d+$/, { error: (i) => `expected a non-root "uid:gid", got ${got(i.input)}` })
    .optional(),
  init: z.boolean().default(true),
  readOnlyRootfs: z.boolean().default(false),
  /** Swarm placement constraints (`node.hostname == vps-2`, `node.labels.factory.lane == true`); ignored by `backend: docker`. */
  placement: z
    .array(
      z.string().regex(PLACEMENT, {
        error: (i) => `expected a constraint such as "node.hostname == vps-2", got ${got(i.input)}`,
      }),
    )
    .default([]),
  allowDockerSocket: z.boolean().default(false),
  dockerSocketReason: z.string().min(1).optional(),
  docker: jobDockerSchema.optional(),
  /** Where the job may connect, enforced outside it by a per-job gateway (docs/lanes.md "Egress"). */
  egress: egressSchema.optional(),
  warm: warmSchema.optional(),
  /** What one agent run of this lane may spend (docs/lanes.md "Budgets"): the action's inputs may lower these, never
   * raise them. A run that reaches one is stopped and reports what it found so far, neutral. */
  budget: budgetSchema.optional(),
  /** The organisation's runner group (by name) its org-level runners join; unset is the org's default group. */
  runnerGroup: z.string().min(1).max(100).optional(),
});

// The controller removes, on this schedule, what it made and no longer uses (factory prune by hand does the same).
const HOUSEKEEPING_DEFAULTS = { every: 6 * 3_600_000, olderThan: 24 * 3_600_000, workspaces: false, diskThreshold: 85 };
const housekeepingSchema = z
  .strictObject({
    /** How often; 0 turns it off. */
    every: z.union([z.literal(0), duration(100, 7 * DAY)]).default(HOUSEKEEPING_DEFAULTS.every),
    /** Only exited containers, dangling images and (with workspaces) unused workspace volumes older than this. */
    olderThan: duration(SECOND, 365 * DAY).default(HOUSEKEEPING_DEFAULTS.olderThan),
    workspaces: z.boolean().default(false),
    /** Disk use (percent) above which doctor fails and the disk alert fires. */
    diskThreshold: z.number().min(1).max(100).default(85),
  })
  .default(HOUSEKEEPING_DEFAULTS);

const repoSchema = z.strictObject({
  repo: z.string().regex(REPO, { error: (i) => `expected "owner/name", got ${got(i.input)}` }),
  profiles: z.array(z.string()).min(1, { error: 'a repo needs at least one profile' }),
  maxConcurrent: z.number().int().positive().default(2),
});

const repoGlob = z.string().regex(REPO_GLOB, {
  error: (i) => `expected a glob on the repo name (letters, digits, . _ - and the wildcards * ?), got ${got(i.input)}`,
});

// Every repo of an organisation that the patterns admit, served by org-level runners (docs/org-runners.md).
const orgSchema = z.strictObject({
  name: z.string().regex(ORG, { error: (i) => `expected an organisation login such as "acme", got ${got(i.input)}` }),
  include: z.array(repoGlob).min(1, { error: 'include at least one pattern ("*" for every repo)' }).default(['*']),
  exclude: z.array(repoGlob).default([]),
  profiles: z.array(z.string()).min(1, { error: 'an org entry needs at least one profile' }),
  /** Per repo the entry covers, as a repo entry's maxConcurrent. */
  maxConcurrent: z.number().int().positive().default(2),
});

export const configFieldsSchema = z.strictObject({
  github: githubSchema,
  // Containers carry this name; a controller only adopts and cleans containers of its own instance.
  instance: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_.-]*$/, { error: (i) => `expected a lowercase name, got ${got(i.input)}` })
    .default('default'),
  // Where job containers run: this host's engine, or the nodes of the swarm this engine manages (docs/swarm.md).
  backend: z
    .enum(['docker', 'swarm'], { error: (i) => `expected docker or swarm, got ${got(i.input)}` })
    .default('docker'),
  docker: z
    .strictObject({ socketPath: z.string().default('/var/run/docker.sock') })
    .default({ socketPath: '/var/run/docker.sock' }),
  maxConcurrent: z.number().int().positive().default(4),
  // How jobs reach the controller: GitHub's workflow_job webhook (an inbound HTTPS port), or runner scale sets whose
  // message queues the controller long-polls (outbound only; each profile of each repo or org entry is one scale set).
  intake: z
    .enum(['webhook', 'scaleset'], { error: (i) => `expected webhook or scaleset, got ${got(i.input)}` })
    .default('webhook'),
  bootTimeout: duration(SECOND, DAY).default(5 * 60_000),
  // GitHub cancels a self-hosted runner's job after 5 days.
  jobTimeout: duration(60 * SECOND, 5 * DAY).default(6 * HOUR),
  reconcileInterval: duration(SECOND, DAY).default(60_000),
  workFolder: z.string().min(1).default('_work'),
  /** Per-job auth copies and rendered MCP files live here; it must be on the Docker host (see hostPathMap). */
  stateDir: absolutePath.default('/var/lib/factory'),
  /** When the controller runs in a container or LXC guest: how its paths (from) appear on the Docker host (to). */
  hostPathMap: z
    .array(z.strictObject({ from: absolutePath.transform(normalisePath), to: absolutePath.transform(normalisePath) }))
    .default([]),
  // The operator's endpoint (/metrics, /status, /jobs/ID) answers anyone who reaches it: loopback unless told.
  status: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8081),
    })
    .default({ host: '127.0.0.1', port: 8081 }),
  housekeeping: housekeepingSchema,
  /**
   * Plain values every lane (trusted profile) gets, set once here: Paperclip's address is the one the lanes need
   * (if Paperclip ever moves, the lanes follow through one variable). Tier-1 jobs never see them.
   */
  laneEnv: z.record(envName, z.string()).default({}),
  /**
   * Before a refreshed login goes back to the host, the controller redeems the job's refresh token at the provider
   * and writes back only tokens the provider issued for the host's own account (controller/lanes/login-check.ts).
   * Unset: the identity fields in the job's file decide, which the job can write (validate warns).
   */
  loginCheck: z
    .strictObject({
      codexTokenUrl: z.url().default('https://auth.openai.com/oauth/token'),
      claudeTokenUrl: z.url().default('https://console.anthropic.com/v1/oauth/token'),
    })
    .optional(),
  /** Where the model broker forwards and refreshes; the providers' own addresses unless a test or a proxy says. */
  broker: z
    .strictObject({
      anthropicUrl: z.url().default('https://api.anthropic.com'),
      openaiUrl: z.url().default('https://api.openai.com/v1'),
      chatgptUrl: z.url().default('https://chatgpt.com/backend-api/codex'),
      codexTokenUrl: z.url().default('https://auth.openai.com/oauth/token'),
      claudeTokenUrl: z.url().default('https://console.anthropic.com/v1/oauth/token'),
      // Where a brokered job's gh calls go (gh-broker.ts): gh's api.github.com and uploads.github.com.
      githubApiUrl: z.url().default('https://api.github.com'),
      githubUploadsUrl: z.url().default('https://uploads.github.com'),
    })
    .default({
      anthropicUrl: 'https://api.anthropic.com',
      openaiUrl: 'https://api.openai.com/v1',
      chatgptUrl: 'https://chatgpt.com/backend-api/codex',
      codexTokenUrl: 'https://auth.openai.com/oauth/token',
      claudeTokenUrl: 'https://console.anthropic.com/v1/oauth/token',
      githubApiUrl: 'https://api.github.com',
      githubUploadsUrl: 'https://uploads.github.com',
    }),
  profiles: z.record(
    z.string().regex(PROFILE_NAME, { error: (i) => `profile names are lowercase words, got ${got(i.input)}` }),
    profileSchema,
  ),
  repos: z.array(repoSchema).default([]),
  orgs: z.array(orgSchema).default([]),
});

export type Config = z.output<typeof configFieldsSchema>;
export type Profile = z.output<typeof profileSchema>;
export type RepoConfig = Config['repos'][number];
export type OrgConfig = Config['orgs'][number];
export type Mount = z.output<typeof mountSchema>;
export type McpServer = z.output<typeof mcpServerSchema>;
