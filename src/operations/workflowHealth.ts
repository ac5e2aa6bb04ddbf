import type { Client, WorkflowExecutionDescription, WorkflowExecutionStatusName } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { isWorkflowMissing } from '../temporal';

/*
 * What Temporal says about one workflow (an order actor or a checkout saga), for the invariant
 * checks and the operator's heal: gone, closed (how), or running, and then whether its workflow
 * task keeps failing. An actor whose task fails takes no command and answers no query, yet
 * describes as RUNNING: that is how the SDK ordering bug in docs/reliability.md strands an order.
 */

/** The latest failure of a workflow task that is being retried, as the history records it. */
export interface FailingTask {
  /** The pending task's attempt: 2 after one failure (later failures are not written to history). */
  attempt: number;
  /** The WorkflowTaskFailedCause without its prefix, e.g. NON_DETERMINISTIC_ERROR. */
  cause: string;
  message: string;
}

export type WorkflowCondition =
  | { state: 'missing' }
  | { state: 'closed'; status: WorkflowExecutionStatusName; runId: string; closedAt: Date | undefined }
  | {
      state: 'running';
      runId: string;
      taskQueue: string;
      /** The pending workflow task's attempt (0: none pending); above 1 it failed or timed out before. */
      taskAttempt: number;
      /** Set when the workflow is stranded: its task failed in the worker and is being retried. */
      failingTask: FailingTask | null;
      /** Activity types scheduled or running: their effects may still land. */
      pendingActivities: string[];
    };

/**
 * Failures the server itself causes and follows with a fresh task (a command raced a new event, a
 * sticky queue was reset): they say nothing about the workflow's code, so they strand nothing.
 */
const SERVER_HEALED_CAUSES = new Set(['UNHANDLED_COMMAND', 'RESET_STICKY_TASK_QUEUE', 'RESET_WORKFLOW', 'FAILOVER_CLOSE_COMMAND']);

/** How far back the history is searched for the task's failure (signals may have piled up since). */
const MAX_HISTORY_PAGES = 5;

interface JsonHistoryEvent {
  eventType?: string;
  workflowTaskFailedEventAttributes?: { cause?: string; failure?: { message?: string } };
}

/** One describe (and, only for a task on a retry, one look at the end of the history). */
export async function inspectWorkflow(client: Client, workflowId: string): Promise<WorkflowCondition> {
  try {
    return await conditionOf(client, await client.workflow.getHandle(workflowId).describe());
  } catch (err) {
    if (isWorkflowMissing(err)) return { state: 'missing' };
    throw err;
  }
}

/** The condition of a workflow already described (only a task on a retry costs one more call). */
export async function conditionOf(client: Client, description: WorkflowExecutionDescription): Promise<Exclude<WorkflowCondition, { state: 'missing' }>> {
  const { workflowId, runId } = description;
  if (description.status.name !== 'RUNNING') return { state: 'closed', status: description.status.name, runId, closedAt: description.closeTime };
  const taskAttempt = description.raw.pendingWorkflowTask?.attempt ?? 0;
  return {
    state: 'running',
    runId,
    taskQueue: description.taskQueue,
    taskAttempt,
    // A task that timed out (its worker died or was too slow) is retried too: only a recorded failure strands.
    failingTask: taskAttempt > 1 ? await latestTaskFailure(client, workflowId, runId, taskAttempt) : null,
    pendingActivities: (description.raw.pendingActivities ?? []).map((a) => a.activityType?.name ?? 'unknown'),
  };
}

/** The newest workflow task outcome in the history, if it is a failure of the worker's. */
async function latestTaskFailure(client: Client, workflowId: string, runId: string, attempt: number): Promise<FailingTask | null> {
  let nextPageToken: Uint8Array | undefined;
  for (let page = 0; page < MAX_HISTORY_PAGES; page++) {
    const response = await client.workflowService.getWorkflowExecutionHistoryReverse({
      namespace: client.options.namespace,
      execution: { workflowId, runId },
      maximumPageSize: 100,
      nextPageToken,
    });
    // The JSON form names the enums (EVENT_TYPE_…, WORKFLOW_TASK_FAILED_CAUSE_…).
    const { events = [] } = JSON.parse(historyToJSON({ events: response.history?.events ?? [] })) as { events?: JsonHistoryEvent[] };
    for (const event of events) {
      if (event.eventType === 'EVENT_TYPE_WORKFLOW_TASK_COMPLETED' || event.eventType === 'EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT') return null;
      if (event.eventType === 'EVENT_TYPE_WORKFLOW_TASK_FAILED') {
        const cause = (event.workflowTaskFailedEventAttributes?.cause ?? 'UNSPECIFIED').replace(/^WORKFLOW_TASK_FAILED_CAUSE_/, '');
        if (SERVER_HEALED_CAUSES.has(cause)) return null;
        return { attempt, cause, message: event.workflowTaskFailedEventAttributes?.failure?.message ?? '' };
      }
    }
    if (!response.nextPageToken?.length) return null;
    nextPageToken = response.nextPageToken;
  }
  return null;
}

/** `running, its workflow task failing (attempt 4, NON_DETERMINISTIC_ERROR: …)`, `running`, `TERMINATED`, `missing`. */
export function describeCondition(condition: WorkflowCondition): string {
  if (condition.state === 'missing') return 'missing';
  if (condition.state === 'closed') return condition.status;
  if (!condition.failingTask)
    return condition.taskAttempt > 1 ? `running (workflow task retried, attempt ${condition.taskAttempt}, not failing in the worker)` : 'running';
  const { attempt, cause, message } = condition.failingTask;
  return `running, its workflow task failing (attempt ${attempt}, ${cause}: ${message.slice(0, 300)})`;
}

/** Stranded: running, but its workflow task keeps failing, so it will not move by itself. */
export const isStranded = (condition: WorkflowCondition): boolean => condition.state === 'running' && condition.failingTask !== null;
