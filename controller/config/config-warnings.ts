// What `factory validate` says of a valid config without refusing it: printed as warnings, with their lines.
import type { ConfigWarning } from './config-problems.js';
import type { Config } from './config-schema.js';
import { brokerFallback } from './broker-gate.js';
import { sharedLoginWarnings } from './shared-logins.js';
import { MAX_SOCKET_PATH } from '../util/socket-path.js';

/** What `factory validate` says of a valid config without refusing it: lanes without an agent user, secrets folders
 * given whole, logins shared under two credential names. */
export function configWarnings(config: Config): ConfigWarning[] {
  const out: ConfigWarning[] = [];
  for (const [name, p] of Object.entries(config.profiles)) {
    if (p.trusted && !p.agentUser)
      out.push({
        path: ['profiles', name],
        message: `lane profile "${name}" has no agentUser: its agent runs as the runner's user and can read the action's token from /proc and write the runner's command files; set agentUser (factory/base: "1001:1001", docs/lane-isolation.md)`,
      });
    p.mounts.forEach((m, i) => {
      if (m.kind === 'secrets' && !m.files)
        out.push({
          path: ['profiles', name, 'mounts', i],
          message: `profile "${name}" gets every file of ${m.source}: list the ones its agent needs under files (files: [stripe-test.env]), so a note kept there for people (a breakglass login) stays out of the lane`,
        });
    });
  }
  for (const [name, p] of Object.entries(config.profiles)) {
    const fallback = p.auth === 'broker' ? brokerFallback(p) : undefined;
    if (fallback)
      out.push({
        path: ['profiles', name, 'auth'],
        message: `profile "${name}" asks for auth: broker, but ${fallback}: its jobs get a copy of the login instead`,
      });
  }
  // A brokered job's gh socket sits in its job folder, and a runner name may take 64 bytes (runner-spec.ts).
  for (const [name, p] of Object.entries(config.profiles)) {
    if (p.auth !== 'broker' || brokerFallback(p)) continue;
    p.mounts.forEach((m, i) => {
      const bytes = Buffer.byteLength(`${config.stateDir}/jobs/${'r'.repeat(64)}/gh/${i}/gh.sock`);
      if (m.kind === 'gh' && bytes > MAX_SOCKET_PATH)
        out.push({
          path: ['profiles', name, 'mounts', i],
          message: `profile "${name}" brokers its gh login through a socket at stateDir/jobs/<runner name>/gh/${i}/gh.sock, up to ${bytes} bytes with a 64-byte runner name, over Linux's ${MAX_SOCKET_PATH}: shorten stateDir, or such a job fails at launch`,
        });
    });
  }
  const withLogin = Object.entries(config.profiles).find(
    ([, p]) => p.mounts.some((m) => m.kind === 'auth') && (p.auth !== 'broker' || brokerFallback(p)),
  );
  if (withLogin && !config.loginCheck)
    out.push({
      path: ['profiles', withLogin[0]],
      message: `profile "${withLogin[0]}" carries a login and loginCheck is not set: a refreshed login is written back on the identity fields in the job's own file, which a hostile job can write to move every later job to its account; add loginCheck: {} (the host redeems the job's refresh token at the provider and keeps only tokens issued for its own account)`,
    });
  return [...out, ...sharedLoginWarnings(config)];
}
