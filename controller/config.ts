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

export const profileSchema = z.strictObject({
  labels: z.array(z.string().min(1)).min(1, { error: 'a profile needs at least one label' }),
  image: z.string().min(1),
  cpus: z.number().positive().default(2),
  memory: bytes.default(4 * 1024 ** 3),
  pids: z.number().int().positive().default(4096),
  // none | bridge | host, or the name of an existing Docker network.
  network: z.string().min(1).default('bridge'),
  env: z.record(envName, z.string()).default({}),
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
    status: z.strictObject({ port: z.number().int().min(0).max(65535).default(8081) }).default({ port: 8081 }),
    profiles: z.record(z.string().regex(PROFILE_NAME, { error: (i) => `profile names are lowercase words, got ${got(i.input)}` }), profileSchema),
    repos: z.array(repoSchema).min(1, { error: 'configure at least one repo' }),
  })
  .superRefine((config, ctx) => {
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

export type Config = z.output<typeof configSchema>;
export type Profile = z.output<typeof profileSchema>;
export type RepoConfig = Config['repos'][number];

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

export async function loadConfig(file: string): Promise<ConfigResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    return { ok: false, problems: [`${file}: cannot read config (${(err as NodeJS.ErrnoException).code ?? String(err)})`] };
  }
  return parseConfig(text, file);
}
