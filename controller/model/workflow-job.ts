// The `workflow_job` delivery, validated once where it enters: the controller and the metrics read this type, never
// the raw payload. Only the fields the controller uses are checked; GitHub's many others pass through untouched.
import { z } from 'zod';

export const workflowJobPayload = z.object({
  action: z.string(),
  workflow_job: z.object({
    id: z.number().int().positive(),
    labels: z.array(z.string()),
    runner_id: z.number().int().nullish(),
    runner_name: z.string().nullish(),
  }),
  repository: z.object({ full_name: z.string().regex(/^[^/\s]+\/[^/\s]+$/) }),
});

export interface WorkflowJobDelivery {
  deliveryId: string;
  receivedAt: number;
  action: string;
  repo: string;
  job: { id: number; labels: string[]; runnerName: string | null };
}

/** The typed delivery, or a message that names the first field that is wrong (`workflow_job.labels: expected array`). */
export function parseWorkflowJob(payload: unknown, deliveryId: string, receivedAt: number): WorkflowJobDelivery | { error: string } {
  const parsed = workflowJobPayload.safeParse(payload);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { error: `workflow_job payload: ${issue.path.join('.') || '(root)'}: ${issue.message}` };
  }
  const p = parsed.data;
  return {
    deliveryId,
    receivedAt,
    action: p.action,
    repo: p.repository.full_name,
    job: { id: p.workflow_job.id, labels: p.workflow_job.labels, runnerName: p.workflow_job.runner_name ?? null },
  };
}
