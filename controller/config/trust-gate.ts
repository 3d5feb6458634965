// The trust gate: what only a lane (trusted) profile may carry, and what no profile may carry without saying why.
// Paths are compared after `..` and symlinks are resolved, in the controller's view and in the Docker host's view
// (hostPathMap), because Docker resolves a bind source on the host, not in the string the config holds.
import { realpathSync } from 'node:fs';
import { posix } from 'node:path';
import { normalisePath, toHostPath, type PathMapping } from './host-path-map.js';
import type { Config, Profile } from './config-schema.js';
import { isReviewProfile, REVIEW_LABEL } from './review-profile.js';

export type Refuse = (path: PropertyKey[], message: string) => void;

const DOCKER_SOCKET = /(^|\/)docker\.sock$|^\/(var\/)?run\/docker(\/|$)/;
export const isDockerSocketPath = (path: string) => DOCKER_SOCKET.test(path);

// Host folders whose contents are the host: sockets (Docker, containerd), kernel interfaces, accounts, boot, the
// engines' own state. A Tier-1 job that can read or write one of them is no longer confined to its container.
const SYSTEM_PATHS = [
  '/run',
  '/var/run',
  '/proc',
  '/sys',
  '/dev',
  '/etc',
  '/root',
  '/boot',
  '/var/lib/docker',
  '/var/lib/containerd',
];

/**
 * The path with every symlink of its existing part resolved; the part that does not exist yet is kept as written
 * (a bind source created later cannot be a symlink now, and Docker refuses a missing source anyway).
 */
export function resolvePath(path: string, realpath: (p: string) => string = realpathSync): string {
  let head = normalisePath(path);
  const tail: string[] = [];
  for (;;) {
    try {
      return posix.join(realpath(head), ...tail);
    } catch {
      if (head === '/') return normalisePath(path);
      tail.unshift(posix.basename(head));
      head = posix.dirname(head);
    }
  }
}

const within = (inner: string, outer: string) => outer === '/' || inner === outer || inner.startsWith(outer + '/');
/** True when one path holds the other: binding either exposes the sensitive one. */
const overlaps = (a: string, b: string) => within(a, b) || within(b, a);

/**
 * The path Docker should bind: symlinks resolved in the controller's view, then translated by hostPathMap. When a
 * mapping's `from` itself goes through a symlink, the resolved path leaves it, so the path as written is mapped.
 */
export function hostView(path: string, map: readonly PathMapping[]): string {
  const resolved = resolvePath(path);
  const mapped = (p: string) => map.some((m) => within(p, normalisePath(m.from)));
  return toHostPath(mapped(resolved) || !mapped(normalisePath(path)) ? resolved : normalisePath(path), map);
}

/** The ways a path is seen: as written, resolved, and as the Docker host sees each. */
function views(path: string, map: readonly PathMapping[]): string[] {
  const written = normalisePath(path);
  const resolved = resolvePath(path);
  const onHost = hostView(path, map);
  return [
    ...new Set([written, resolved, toHostPath(written, map), toHostPath(resolved, map), resolvePath(onHost), onHost]),
  ];
}

/** Host paths that hold credentials, secrets or the controller's own state: no untrusted profile may bind them. */
export function sensitivePaths(config: Config): Array<{ path: string; what: string }> {
  const out = SYSTEM_PATHS.map((path) => ({ path, what: `${path} (host system folder)` }));
  out.push({ path: config.stateDir, what: `stateDir ${config.stateDir} (job folders with credential copies)` });
  out.push({ path: config.docker.socketPath, what: `the Docker socket ${config.docker.socketPath}` });
  const auth = config.github.auth;
  if ('tokenFile' in auth && auth.tokenFile) out.push({ path: auth.tokenFile, what: 'github.auth.tokenFile' });
  if ('privateKeyPath' in auth) out.push({ path: auth.privateKeyPath, what: 'github.auth.privateKeyPath' });
  // Set but unused (`intake: scaleset`) is still a secret on this host: protected all the same.
  const webhook = config.github.webhook;
  if (webhook?.secret.file) out.push({ path: webhook.secret.file, what: 'github.webhook.secret.file' });
  // The webhook's TLS key: whoever reads it can impersonate the controller to GitHub's deliveries.
  const tls = webhook?.tls;
  if (tls) out.push({ path: tls.keyFile, what: `github.webhook.tls.keyFile ${tls.keyFile}` });
  for (const [name, p] of Object.entries(config.profiles)) {
    p.envFiles.forEach((f) => out.push({ path: f, what: `an env file of profile "${name}"` }));
    for (const m of p.mounts) {
      if (m.kind === 'auth') {
        out.push({ path: m.source, what: `the ${m.agent} login of profile "${name}"` });
        if (m.claudeJson) out.push({ path: m.claudeJson, what: `the claude.json of profile "${name}"` });
      }
      if (m.kind === 'secrets' || m.kind === 'data')
        out.push({ path: m.source, what: `the ${m.kind} folder of profile "${name}"` });
      if (m.kind === 'gh') out.push({ path: m.source, what: `the gh login of profile "${name}"` });
    }
  }
  return out;
}

/** Each refusal names the profile and the field; `refuse` receives the path below `profiles.NAME`. */
export function refuseUnsafeProfile(config: Config, name: string, p: Profile, refuse: Refuse): void {
  const untrusted = `profile "${name}" is not trusted (set trusted: true only on lane profiles)`;
  const socket = views(config.docker.socketPath, config.hostPathMap);
  const sensitive = p.trusted
    ? []
    : sensitivePaths(config).map((s) => ({ ...s, views: views(s.path, config.hostPathMap) }));
  p.mounts.forEach((m, i) => {
    if (!p.trusted && (m.kind === 'auth' || m.kind === 'secrets' || m.kind === 'data' || m.kind === 'gh'))
      refuse(['mounts', i, 'kind'], `a ${m.kind} mount needs a trusted profile: ${untrusted}`);
    if (!('source' in m)) return;
    const source = views(m.source, config.hostPathMap);
    const onHost = hostView(m.source, config.hostPathMap);
    const shown = onHost === m.source ? m.source : `${m.source} (on the host: ${onHost})`;
    const reachesSocket =
      source.some((s) => isDockerSocketPath(s) || socket.some((k) => within(k, s))) ||
      ('target' in m && isDockerSocketPath(m.target));
    if (reachesSocket) {
      if (!p.trusted)
        refuse(
          ['mounts', i, 'source'],
          `${shown} is or holds the Docker socket, which cannot be mounted: ${untrusted}`,
        );
      else if (!p.allowDockerSocket || !p.dockerSocketReason)
        refuse(
          ['mounts', i, 'source'],
          `mounting the Docker socket gives the job root on the host: write allowDockerSocket: true with a dockerSocketReason on profile "${name}"`,
        );
      return;
    }
    if (m.kind !== 'bind') return;
    const hit = sensitive.find((s) => s.views.some((v) => source.some((src) => overlaps(src, v))));
    if (hit) refuse(['mounts', i, 'source'], `${shown} overlaps ${hit.what}: ${untrusted}`);
  });
  if (!p.trusted) {
    const mode = p.network.trim().toLowerCase();
    if (mode === 'host') refuse(['network'], `host networking needs a trusted profile: ${untrusted}`);
    if (mode.startsWith('container:'))
      refuse(
        ['network'],
        `network "${p.network}" joins another container's network (and whatever it can reach): ${untrusted}`,
      );
    if (p.envFiles.length > 0) refuse(['envFiles'], `env files carry secrets and need a trusted profile: ${untrusted}`);
    if (p.user && p.user.split(':').some((id) => Number(id) === 0))
      refuse(['user'], `user "${p.user}" runs the job as root (uid or gid 0): ${untrusted}`);
    if (p.capAdd.length > 0) refuse(['capAdd'], `capabilities are added back only for trusted profiles: ${untrusted}`);
    if (p.agentUser)
      refuse(
        ['agentUser'],
        `an agent user keeps SETUID/SETGID and drops no-new-privileges, for trusted lane profiles only: ${untrusted}`,
      );
  }
  if (isReviewProfile(p) && !p.agentUser)
    refuse(
      ['agentUser'],
      `profile "${name}" is labelled "${REVIEW_LABEL}", so it runs pull-request content (the review workflows and second-opinion ask for that label), and has no agentUser: a prompt-injected agent there would run as the runner's user; set agentUser (factory/base: "1001:1001")`,
    );
  if (p.allowDockerSocket && !p.dockerSocketReason)
    refuse(['dockerSocketReason'], `allowDockerSocket: true needs a dockerSocketReason on profile "${name}"`);
  if (p.credential && !p.mounts.some((m) => m.kind === 'auth'))
    refuse(['credential'], `profile "${name}" names a credential but has no auth mount`);
}
