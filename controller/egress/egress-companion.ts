// A job's egress gateway removed and swept wherever its Docker sidecar is: the teardown and the reconciler already
// call JobDocker.remove and .sweep for every runner, so the gateway joins that one path instead of growing a second.
// Before the gateway goes, what it refused is handed to `reported` (the log, the metric).
import type { JobDocker } from '../docker/job-docker.js';
import type { EgressGateways, Refusal } from './egress-gateway.js';

export function withEgressCleanup(
  sidecars: JobDocker | undefined,
  egress: EgressGateways,
  reported: (runnerName: string, refusals: Refusal[]) => void | Promise<void>,
): JobDocker {
  return {
    start: (plan) =>
      sidecars
        ? sidecars.start(plan)
        : Promise.reject(new Error(`profile ${plan.profileName} asks for docker, which this backend cannot run`)),
    async remove(runnerName) {
      const refusals = await egress.refusals(runnerName).catch(() => []);
      if (refusals.length > 0) await reported(runnerName, refusals);
      await sidecars?.remove(runnerName);
      await egress.remove(runnerName);
    },
    async sweep(keep) {
      const a = (await sidecars?.sweep(keep)) ?? [];
      const b = await egress.sweep(keep);
      return [...new Set([...a, ...b])];
    },
  };
}
