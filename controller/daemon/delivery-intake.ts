// A workflow_job delivery on its way from the webhook to the controller: its names kept for the status page, its
// payload validated (a malformed one is refused with the reason, which the sender gets as a 400), counted, and handed
// on. Until the first reconcile has adopted what a previous run left, deliveries are held, so no job gets a second
// runner; the ports are open from the start, so a port conflict shows at once, not after GitHub's retries.
import type { Config } from '../config/config.js';
import type { WebhookEvent } from '../model/webhook-event.js';
import { parseWorkflowJob, type WorkflowJobDelivery } from '../model/workflow-job.js';
import type { Logger } from '../observe/logger.js';
import type { Metrics } from '../observe/metrics.js';
import type { JobDetails } from '../status/job-details.js';
import { matchProfile } from './profile-match.js';

export interface IntakeParts {
  config: () => Config;
  log: Logger;
  metrics: Pick<Metrics, 'delivery'>;
  details: Pick<JobDetails, 'record'>;
  /** Where a delivery goes once the intake is open. */
  handle: (delivery: WorkflowJobDelivery) => void;
}

export function deliveryIntake(p: IntakeParts) {
  let held: WorkflowJobDelivery[] | undefined = [];
  const onJob = (d: WorkflowJobDelivery): void => {
    p.metrics.delivery(d, matchProfile(p.config(), d.repo, d.job.labels)?.profileName);
    if (held) held.push(d);
    else p.handle(d);
  };
  return {
    onDelivery(e: WebhookEvent): string | void {
      if (e.name !== 'workflow_job') return;
      p.details.record(e);
      const d = parseWorkflowJob(e.payload, e.deliveryId, e.receivedAt);
      if ('error' in d) {
        p.log.warn({ deliveryId: e.deliveryId, error: d.error }, 'malformed workflow_job delivery refused');
        return d.error;
      }
      onJob(d);
    },
    /** A delivery already typed: a webhook's once validated, or a scale set's message (scaleset-intake.ts). */
    onJob,
    /** Hands on the deliveries held so far, in the order they came, then every later one at once. */
    open(): void {
      const waiting = held ?? [];
      held = undefined;
      for (const d of waiting) p.handle(d);
    },
  };
}
