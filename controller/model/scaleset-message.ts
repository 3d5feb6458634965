// What a runner scale set's message queue says, validated once where it enters, and turned into the same
// workflow_job deliveries a webhook gives, so both intakes feed one set of books. The shapes are the Actions
// service's (RunnerScaleSetJobMessages: a JSON array of job messages inside the message's `body` string).
import { z } from 'zod';
import type { WorkflowJobDelivery } from './workflow-job.js';

export const scaleSetStatistics = z.object({
  totalAvailableJobs: z.number().int().default(0),
  totalAcquiredJobs: z.number().int().default(0),
  totalAssignedJobs: z.number().int().default(0),
  totalRunningJobs: z.number().int().default(0),
  totalRegisteredRunners: z.number().int().default(0),
  totalBusyRunners: z.number().int().default(0),
  totalIdleRunners: z.number().int().default(0),
});
export type ScaleSetStatistics = z.infer<typeof scaleSetStatistics>;

const jobMessage = z.object({
  messageType: z.string(),
  runnerRequestId: z.number().int().positive(),
  repositoryName: z.string().min(1),
  ownerName: z.string().min(1),
  jobId: z.string().default(''),
  jobWorkflowRef: z.string().default(''),
  jobDisplayName: z.string().default(''),
  workflowRunId: z.number().int().nonnegative().default(0),
  eventName: z.string().default(''),
  requestLabels: z.array(z.string()).default([]),
  runnerName: z.string().nullish(),
  result: z.string().nullish(),
});
export type JobMessage = z.infer<typeof jobMessage>;

const queueMessage = z.object({
  messageId: z.number().int().positive(),
  messageType: z.string(),
  body: z.string().default(''),
  statistics: scaleSetStatistics.nullish(),
});

export interface ScaleSetMessage {
  messageId: number;
  statistics: ScaleSetStatistics | undefined;
  jobs: JobMessage[];
}

/** The message, or why it cannot be read. Job messages of types the controller does not know are dropped. */
export function parseScaleSetMessage(raw: unknown): ScaleSetMessage | { error: string } {
  const parsed = queueMessage.safeParse(raw);
  if (!parsed.success) return { error: `scale-set message: ${parsed.error.issues[0]!.message}` };
  const m = parsed.data;
  if (m.messageType !== 'RunnerScaleSetJobMessages') return { error: `unsupported message type ${m.messageType}` };
  let batch: unknown;
  try {
    batch = m.body ? JSON.parse(m.body) : [];
  } catch {
    return { error: `scale-set message ${m.messageId}: body is not JSON` };
  }
  const jobs: JobMessage[] = [];
  for (const item of Array.isArray(batch) ? batch : []) {
    const job = jobMessage.safeParse(item);
    if (!job.success) return { error: `scale-set message ${m.messageId}: ${job.error.issues[0]!.path.join('.')}` };
    if (KNOWN.has(job.data.messageType)) jobs.push(job.data);
  }
  return { messageId: m.messageId, statistics: m.statistics ?? undefined, jobs };
}

const KNOWN = new Set(['JobAvailable', 'JobAssigned', 'JobStarted', 'JobCompleted']);

/** The service's results, in the words of a workflow_job's conclusion. */
const CONCLUSION: Record<string, string> = { succeeded: 'success', failed: 'failure', canceled: 'cancelled' };

/**
 * The delivery a job message stands for: an acquired (or assigned) job is `queued` for the controller, a started one
 * `in_progress` with its runner, a finished one `completed`. The runner request id is the job's id in the books: the
 * scale set's messages name the job by it from offer to end.
 */
export function deliveryOf(
  job: JobMessage,
  action: 'queued' | 'in_progress' | 'completed',
  deliveryId: string,
  receivedAt: number,
): WorkflowJobDelivery {
  const conclusion = job.result ? (CONCLUSION[job.result.toLowerCase()] ?? job.result.toLowerCase()) : undefined;
  return {
    deliveryId,
    receivedAt,
    action,
    repo: `${job.ownerName}/${job.repositoryName}`,
    job: {
      id: job.runnerRequestId,
      ...(job.workflowRunId > 0 ? { runId: job.workflowRunId } : {}),
      labels: job.requestLabels,
      runnerName: job.runnerName || null,
      ...(job.jobDisplayName ? { name: job.jobDisplayName } : {}),
      ...(job.jobWorkflowRef ? { workflowName: job.jobWorkflowRef.split('@')[0]!.split('/').pop()! } : {}),
      ...(conclusion ? { conclusion } : {}),
    },
  };
}
