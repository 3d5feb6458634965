// The `workflow_job` delivery, validated once where it enters: the controller and the metrics read this type, never
// the raw payload. Only the fields the controller uses are checked; GitHub's many others pass through untouched.
import { z } from 'zod';

export const workflowJobPayload = z.object({
  action: z.string(),
  workflow_job: z.object({
    id: z.number().int().positive(),
    run_id: z.number().int().positive().nullish(),
    labels: z.array(z.string()),
    runner_id: z.number().int().nullish(),
    runner_name: z.string().nullish(),
    // Read for the metrics of finished jobs only: a value of another shape is dropped, not a refused delivery.
    name: z.string().nullish().catch(null),
    workflow_name: z.string().nullish().catch(null),
    conclusion: z.string().nullish().catch(null),
    started_at: z.string().nullish().catch(null),
    completed_at: z.string().nullish().catch(null),
  }),
  repository: z.object({ full_name: z.string().regex(/^[^/\s]+\/[^/\s]+$/) }),
});

export interface WorkflowJobDelivery {
  deliveryId: string;
  receivedAt: number;
  action: string;
  repo: string;
  job: {
    id: number;
    /** The workflow run, looked up to check a lane's assignment; the poll finds it when a delivery lacks it. */
    runId?: number;
    labels: string[];
    runnerName: string | null;
    name?: string;
    workflowName?: string;
    conclusion?: string;
    startedAt?: string;
    completedAt?: string;
  };
}

/** The typed delivery, or a message that names the first field that is wrong (`workflow_job.labels: expected array`). */
export function parseWorkflowJob(
  payload: unknown,
  deliveryId: string,
  receivedAt: number,
): WorkflowJobDelivery | { error: string } {
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
    job: {
      id: p.workflow_job.id,
      ...(p.workflow_job.run_id ? { runId: p.workflow_job.run_id } : {}),
      labels: p.workflow_job.labels,
      runnerName: p.workflow_job.runner_name ?? null,
      ...(p.workflow_job.name ? { name: p.workflow_job.name } : {}),
      ...(p.workflow_job.workflow_name ? { workflowName: p.workflow_job.workflow_name } : {}),
      ...(p.workflow_job.conclusion ? { conclusion: p.workflow_job.conclusion } : {}),
      ...(p.workflow_job.started_at ? { startedAt: p.workflow_job.started_at } : {}),
      ...(p.workflow_job.completed_at ? { completedAt: p.workflow_job.completed_at } : {}),
    },
  };
}
