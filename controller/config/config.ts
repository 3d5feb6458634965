// The controller's settings file (`factory.yml`): parsed once at the edge, every problem reported with its path.
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { parseBytes, parseDuration } from './units.js';

const REPO = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PROFILE_NAME = /^[a-z0-9][a-z0-9_-]*$/;

const got = (input: unknown) => JSON.stringify(input);
const envName = z.string().regex(ENV_NAME, { error: (i) => `expected an environment variable name, got ${got(i.input)}` });

const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === undefined || ms <= 0) {
    ctx.addIssue({ code: 'custom', message: `expected a duration such as "90s", "5m" or "6h", got ${got(v)}` });
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
    .refine((s) => (s.env === undefined) !== (s.file === undefined), { message: `${what}: give exactly one of env or file` });

const tokenAuth = z.strictObject({ tokenEnv: envName.optional(), tokenFile: z.string().min(1).optional() }).refine(
  (a) => (a.tokenEnv === undefined) !== (a.tokenFile === undefined),
  { message: 'give exactly one of tokenEnv or tokenFile' },
);
const appAuth = z.strictObject({
  appId: z.union([z.number().int().positive(), z.string().regex(/^\d+$/)]).transform(Number),
  privateKeyPath: z.string().min(1),
  installationId: z.number().int().positive().optional(),
});

const githubSchema = z.strictObject({
  apiUrl: z.url({ error: (i) => `expected an http(s) URL, got ${got(i.input)}` }).default('https://api.github.com').transform((u) => u.replace(/\/+$/, '')),
  auth: z.union([appAuth, tokenAuth], {
    error: 'expected { tokenEnv: NAME } or { tokenFile: PATH } or { appId, privateKeyPath, installationId? }',
  }),
  webhook: z.strictObject({
    host: z.string().default('0.0.0.0'),
    port: z.number().int().min(0).max(65535).default(8080),
    path: z.string().startsWith('/', { error: 'expected a path starting with "/"' }).default('/webhook'),
    secret: secretRef('webhook secret'),
  }),
});

const absolutePath = z.string().startsWith('/', { error: (i) => `expected an absolute path, got ${got(i.input)}` });
const agentName = z.enum(['codex', 'claude'], { error: (i) => `expected codex or claude, got ${got(i.input)}` });

// Each kind of mount carries one connection of the connection map across the container boundary (seed 001).
export const mountSchema = z.discriminatedUnion(
  'kind',
  [
    // Subscription credentials: the job gets a private copy; refreshed tokens are written back when it ends.
    z.strictObject({ kind: z.literal('auth'), agent: agentName, source: absolutePath, claudeJson: absolutePath.optional() }),
    z.strictObject({ kind: z.literal('secrets'), source: absolutePath, target: absolutePath.default('/factory/secrets') }),
    z.strictObject({ kind: z.literal('data'), source: absolutePath, target: absolutePath }),
    // A named volume per repo and profile, so one repo's workspace never leaks into another's.
    z.strictObject({ kind: z.literal('workspace'), target: absolutePath.default('/home/runner/_work') }),
    z.strictObject({ kind: z.literal('bind'), source: absolutePath, target: absolutePath, mode: z.enum(['ro', 'rw']).default('ro') }),
  ],
  { error: (i) => `expected a mount with kind auth, secrets, data, workspace or bind, got kind ${got((i.input as { kind?: unknown })?.kind)}` },
);

const mcpName = z.string().regex(/^[A-Za-z0-9_-]+$/, { error: (i) => `MCP server names are letters, digits, - and _, got ${got(i.input)}` });
// One neutral form for both agents; the lane renders claude's JSON and codex's TOML from it.
export const mcpServerSchema = z.union(
  [
    z.strictObject({ name: mcpName, command: z.string().min(1), args: z.array(z.string()).default([]), env: z.record(envName, z.string()).default({}) }),
    z.strictObject({ name: mcpName, url: z.url(), tokenEnv: envName.optional() }),
  ],
  { error: 'expected { name, command, args?, env? } (stdio) or { name, url, tokenEnv? } (http)' },
);

export const profileSchema = z.strictObject({
  labels: z.array(z.string().min(1)).min(1, { error: 'a profile needs at least one label' }),
  image: z.string().min(1),
  cpus: z.number().positive().default(2),
  memory: bytes.default(4 * 1024 ** 3),
  pids: z.number().int().positive().default(4096),
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
  /** Jobs sharing a credential name run one at a time (a token refresh strands every other copy). */
  credential: z.string().regex(/^[A-Za-z0-9_.-]+$/).optional(),
  credentialConcurrency: z.number().int().positive().default(1),
  /** The container user; unset keeps the image's own (the runner image's UID 1000). */
  user: z.string().regex(/^\d+(:\d+)?$/, { error: (i) => `expected a numeric "uid" or "uid:gid", got ${got(i.input)}` }).optional(),
  init: z.boolean().default(true),
  readOnlyRootfs: z.boolean().default(false),
  allowDockerSocket: z.boolean().default(false),
  dockerSocketReason: z.string().min(1).optional(),
});

const repoSchema = z.strictObject({
  repo: z.string().regex(REPO, { error: (i) => `expected "owner/name", got ${got(i.input)}` }),
  profiles: z.array(z.string()).min(1, { error: 'a repo needs at least one profile' }),
  maxConcurrent: z.number().int().positive().default(2),
});

export const configSchema = z
  .strictObject({
    github: githubSchema,
    // Containers carry this name; a controller only adopts and cleans containers of its own instance.
    instance: z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/, { error: (i) => `expected a lowercase name, got ${got(i.input)}` }).default('default'),
    docker: z.strictObject({ socketPath: z.string().default('/var/run/docker.sock') }).default({ socketPath: '/var/run/docker.sock' }),
    maxConcurrent: z.number().int().positive().default(4),
    bootTimeout: duration.default(5 * 60_000),
    jobTimeout: duration.default(6 * 3_600_000),
    reconcileInterval: duration.default(60_000),
    workFolder: z.string().min(1).default('_work'),
    /** Per-job auth copies and rendered MCP files live here; it must be on the Docker host (see hostPathMap). */
    stateDir: absolutePath.default('/var/lib/factory'),
    /** When the controller runs in a container or LXC guest: how its paths (from) appear on the Docker host (to). */
    hostPathMap: z.array(z.strictObject({ from: absolutePath, to: absolutePath })).default([]),
    // The operator's endpoint (/metrics, /status, /jobs/ID) answers anyone who reaches it: loopback unless told.
    status: z.strictObject({ host: z.string().min(1).default('127.0.0.1'), port: z.number().int().min(0).max(65535).default(8081) }).default({ host: '127.0.0.1', port: 8081 }),
    profiles: z.record(z.string().regex(PROFILE_NAME, { error: (i) => `profile names are lowercase words, got ${got(i.input)}` }), profileSchema),
    repos: z.array(repoSchema).min(1, { error: 'configure at least one repo' }),
  })
  .superRefine((config, ctx) => {
    for (const [name, profile] of Object.entries(config.profiles)) refuseUnsafe(name, profile, (path, message) => ctx.addIssue({ code: 'custom', path: ['profiles', name, ...path], message }));
    const seen = new Map<string, number>();
    config.repos.forEach((r, i) => {
      const key = r.repo.toLowerCase();
      if (seen.has(key)) ctx.addIssue({ code: 'custom', path: ['repos', i, 'repo'], message: `${r.repo} is already configured at repos[${seen.get(key)}]` });
      else seen.set(key, i);
      r.profiles.forEach((p, j) => {
        if (!config.profiles[p]) {
          const known = Object.keys(config.profiles).join(', ') || 'none';
          ctx.addIssue({ code: 'custom', path: ['repos', i, 'profiles', j], message: `unknown profile ${got(p)} (defined: ${known})` });
        }
      });
    });
  });

const DOCKER_SOCKET = /(^|\/)docker\.sock$|^\/(var\/)?run\/docker(\/|$)/;
export const isDockerSocketPath = (path: string) => DOCKER_SOCKET.test(path);

/**
 * What only a trusted (lane) profile may have, and the Docker socket, which is root on the host: a CI job that can
 * reach it owns every credential the lanes carry. Each refusal names the profile and the field.
 */
function refuseUnsafe(name: string, p: z.output<typeof profileSchema>, refuse: (path: PropertyKey[], message: string) => void): void {
  const untrusted = `profile "${name}" is not trusted (set trusted: true only on lane profiles)`;
  p.mounts.forEach((m, i) => {
    if (!p.trusted && (m.kind === 'auth' || m.kind === 'secrets' || m.kind === 'data')) refuse(['mounts', i, 'kind'], `a ${m.kind} mount needs a trusted profile: ${untrusted}`);
    const paths = [('source' in m ? m.source : ''), ('target' in m ? m.target : '')].filter(Boolean);
    if (paths.some(isDockerSocketPath)) {
      if (!p.trusted) refuse(['mounts', i, 'source'], `the Docker socket cannot be mounted: ${untrusted}`);
      else if (!p.allowDockerSocket || !p.dockerSocketReason) refuse(['mounts', i, 'source'], `mounting the Docker socket gives the job root on the host: write allowDockerSocket: true with a dockerSocketReason on profile "${name}"`);
    }
  });
  if (!p.trusted && p.network === 'host') refuse(['network'], `host networking needs a trusted profile: ${untrusted}`);
  if (!p.trusted && p.envFiles.length > 0) refuse(['envFiles'], `env files carry secrets and need a trusted profile: ${untrusted}`);
  if (p.allowDockerSocket && !p.dockerSocketReason) refuse(['dockerSocketReason'], `allowDockerSocket: true needs a dockerSocketReason on profile "${name}"`);
  if (p.credential && !p.mounts.some((m) => m.kind === 'auth')) refuse(['credential'], `profile "${name}" names a credential but has no auth mount`);
}

export type Config = z.output<typeof configSchema>;
export type Profile = z.output<typeof profileSchema>;
export type RepoConfig = Config['repos'][number];
export type Mount = z.output<typeof mountSchema>;
export type McpServer = z.output<typeof mcpServerSchema>;

export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: string[] };

/** `repos[1].profiles[0]` from zod's path array. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)), '');
}

/** Parses and validates a config file's text; never throws for bad input, it lists what is wrong and where. */
export function parseConfig(text: string, source = 'factory.yml'): ConfigResult {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    return { ok: false, problems: doc.errors.map((e) => `${source}:${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0]}`) };
  }
  const result = configSchema.safeParse(doc.toJS() ?? {}, { reportInput: true });
  if (result.success) return { ok: true, config: result.data };
  return {
    ok: false,
    problems: result.error.issues.map((issue) => {
      const where = formatPath(issue.path) || '(top level)';
      const message =
        issue.code === 'invalid_type' && issue.input === undefined
          ? 'required'
          : issue.code === 'invalid_key'
            ? (issue.issues[0]?.message ?? issue.message)
            : issue.message.replace(/^Invalid input: /, '');
      return `${where}: ${message}`;
    }),
  };
}

/** `F: N problem(s)` then one indented line per problem: how every command reports an invalid config. */
export function describeProblems(file: string, problems: readonly string[], preface = ''): string {
  return [`${file}: ${preface}${problems.length} problem(s)`, ...problems.map((p) => `  ${p}`)].join('\n');
}

export async function loadConfig(file: string): Promise<ConfigResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    return { ok: false, problems: [`${file}: cannot read config (${(err as NodeJS.ErrnoException).code ?? String(err)})`] };
  }
  return parseConfig(text, file);
}
