// A job's broker closed wherever its Docker sidecar and gateway are removed: the teardown calls JobDocker.remove for
// every runner, so the broker joins that one path (as the egress gateway does) instead of growing a second. Closed,
// its placeholder opens nothing.
import type { JobDocker } from '../docker/job-docker.js';
import type { JobBrokers } from './job-brokers.js';

export function withBrokerCleanup(sidecars: JobDocker | undefined, brokers: JobBrokers): JobDocker {
  return {
    start: (plan) =>
      sidecars
        ? sidecars.start(plan)
        : Promise.reject(new Error(`profile ${plan.profileName} asks for docker, which this backend cannot run`)),
    async remove(runnerName) {
      await brokers.close(runnerName);
      await sidecars?.remove(runnerName);
    },
    async sweep(keep) {
      await brokers.sweep(keep);
      return (await sidecars?.sweep(keep)) ?? [];
    },
  };
}
