// A brokered job that outlived its controller gets its broker back: the job's folder keeps the grant its launch wrote
// (its placeholder and where it reaches the broker), so the next controller starts the broker again through the same
// start as a launch, with the same placeholder. Behind egress the broker takes any port and the job's gateway relays
// its broker port there; on host networking the job dials the port it was given, so the broker takes that port or
// none: whatever holds it now is a stranger, and the job is better left without a model than given one that is not
// ours. A job folder without a grant (a copy profile, a launch cut short before it) gets nothing.
import { restartOf, type JobBrokers } from '../broker/job-brokers.js';
import type { Config } from '../config/config.js';
import type { EgressGateways } from '../egress/egress-gateway.js';
import { readBrokerGrant } from '../lanes/broker-placeholders.js';
import { jobDir } from '../lanes/lane-layout.js';
import type { RunnerIdentity } from '../model/runner.js';
import type { Logger } from '../observe/logger.js';
import { errorMessage } from '../util/error-message.js';
import { findProfile } from './profile-match.js';

export interface BrokerRestoreDeps {
  config: Config;
  brokers: JobBrokers;
  egress?: EgressGateways | undefined;
  log: Logger;
}

/** Starts an adopted runner's broker again from its grant; says what it did in the log, and never throws. */
export async function restoreBroker(deps: BrokerRestoreDeps, identity: RunnerIdentity): Promise<void> {
  const { config, brokers, egress } = deps;
  const name = identity.runnerName;
  // A launch Docker cut short, adopted by the process that launched it, kept its broker.
  if (brokers.has(name)) return;
  const log = deps.log.child({ repo: identity.repo, runner: name, profile: identity.profileName });
  let grant;
  try {
    grant = await readBrokerGrant(jobDir(config, name));
  } catch (err) {
    return log.warn({ err: errorMessage(err) }, 'adopted job left without a model broker: its grant is unreadable');
  }
  if (!grant) return;
  // The profile holds the logins and MCP servers the broker serves; one removed since leaves nothing to serve.
  const profile = findProfile(config, identity.repo, identity.profileName)?.profile;
  if (!profile) return log.warn({}, 'adopted job left without a model broker: its profile is no longer in the config');
  let restart;
  try {
    restart = restartOf(grant);
    const broker = await brokers.start(profile, name, restart);
    if (restart.port === undefined) {
      if (!egress?.relayBroker) throw new Error('this backend runs no egress gateways');
      await egress.relayBroker(name, broker.port);
    }
    log.info(
      { port: broker.port, relayed: restart.port === undefined },
      'model broker of an adopted job started again',
    );
  } catch (err) {
    await brokers.close(name);
    const taken = (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
    log.warn(
      { err: errorMessage(err), ...(restart?.port !== undefined ? { port: restart.port } : {}) },
      taken
        ? `adopted job left without a model broker: another process holds its port 127.0.0.1:${restart?.port}, ` +
            'so its model and MCP requests reach that process until the job ends'
        : 'adopted job left without a model broker',
    );
  }
}
