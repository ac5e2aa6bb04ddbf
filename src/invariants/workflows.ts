import type { Client } from '@temporalio/client';
import { orderDecider, ORDER_STREAM_TYPE, orderStreamId, orderStreams } from '../domain/order';
import { countStreams, streamIdsByLastChange, type Queryable } from '../eventstore';
import { conditionOf, describeCondition, inspectWorkflow, isStranded, type WorkflowCondition } from '../operations/workflowHealth';
import type { orderWorkflow } from '../workflows/order';
import { getOrderQuery, orderWorkflowId, type OrderSnapshot } from '../workflows/orderContract';
import { aggregateIdOf, streamIdsOfType, withConcurrency } from './streams';
import { ResultBuilder, sameJson, skipped, type InvariantFilter, type InvariantResult } from './types';
import { readStream } from '../application/eventStore';
import { foldRecorded } from '../application/foldStream';
import { isWorkflowMissing } from '../temporal';

export const WORKFLOW_INVARIANT = { id: '4', title: 'order stream fold = order workflow state (query / result)' };

/** How one order's actor is read. */
export interface ActorReadOptions {
  /** A running order that disagrees is re-read this many times (it may be mid-command). Default 3. */
  attempts?: number;
  /**
   * Deadline of each try at reading an order (describe, then query or result). A query waits for a
   * worker, so an order whose task queue has none would otherwise hang the check. Default 5000.
   */
  callTimeoutMs?: number;
  /**
   * Tries at reading an order that does not answer in time, with backoff from READ_BACKOFF_MS:
   * under load a query waits for a busy or restarting worker. Default 5. A stranded actor (its
   * workflow task failing) is not retried: it will not answer.
   */
  readAttempts?: number;
}

export interface WorkflowCheckOptions extends ActorReadOptions {
  /** At most this many orders, most recently changed first (default: all). */
  maxOrders?: number;
  /** Temporal calls in flight at once (default 8). */
  concurrency?: number;
}

const READ_BACKOFF_MS = 500;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A workflow that Temporal still holds. */
type RunCondition = Exclude<WorkflowCondition, { state: 'missing' }>;

type ActorRead =
  | { kind: 'view'; condition: RunCondition; view: OrderSnapshot; tries: number; tookMs: number }
  | { kind: 'closedWithoutResult'; condition: RunCondition }
  | { kind: 'missing' }
  | { kind: 'stranded'; condition: WorkflowCondition }
  | { kind: 'unanswered'; tries: number; tookMs: number; error: string; condition: WorkflowCondition | undefined };

/** The error and, for a gRPC failure, the server's own words (`9 FAILED_PRECONDITION: …`). */
function describeError(err: unknown): string {
  const error = err as Error;
  return error.cause instanceof Error ? `${error.message}: ${error.cause.message}` : String(error.message ?? err);
}

/**
 * The actor's view of its order: a running actor's query, a completed one's result. A stranded
 * actor is told apart from a slow one by its workflow task: failing in the worker (the query is
 * refused, and will be on every retry) or merely not answered in time (retried with backoff).
 */
async function readActor(client: Client, orderId: string, callTimeoutMs: number, readAttempts: number): Promise<ActorRead> {
  const handle = client.workflow.getHandle<typeof orderWorkflow>(orderWorkflowId(orderId));
  const startedAt = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await client.withDeadline(Date.now() + callTimeoutMs, async (): Promise<ActorRead> => {
        const condition = await conditionOf(client, await handle.describe());
        if (isStranded(condition)) return { kind: 'stranded', condition };
        const viewed = (view: OrderSnapshot): ActorRead => ({ kind: 'view', condition, view, tries: attempt, tookMs: Date.now() - startedAt });
        if (condition.state === 'running') return viewed(await handle.query(getOrderQuery));
        if (condition.status === 'COMPLETED') return viewed(await handle.result());
        return { kind: 'closedWithoutResult', condition };
      });
    } catch (err) {
      if (isWorkflowMissing(err)) return { kind: 'missing' };
      // The task may have started failing since the describe: then the query never will answer.
      const condition = await client.withDeadline(Date.now() + callTimeoutMs, () => inspectWorkflow(client, handle.workflowId)).catch(() => undefined);
      if (condition && isStranded(condition)) return { kind: 'stranded', condition };
      if (attempt >= readAttempts) return { kind: 'unanswered', tries: attempt, tookMs: Date.now() - startedAt, error: describeError(err), condition };
      await sleep(READ_BACKOFF_MS * 2 ** (attempt - 1));
    }
  }
}

/** What one order's actor says against the order's stream (the stream is the truth). */
export type ActorVerdict =
  | Exclude<ActorRead, { kind: 'view' }>
  | { kind: 'agrees' | 'differs'; condition: RunCondition; view: OrderSnapshot; tries: number; tookMs: number; streamVersion: number; difference: string };

/**
 * Reads the actor (see `readActor`) and compares its view with the fold of the stream. A running
 * actor may be between appending and evolving, so a disagreement is re-read `attempts` times.
 */
export async function compareActorWithStream(db: Queryable, client: Client, orderId: string, options: ActorReadOptions = {}): Promise<ActorVerdict> {
  const attempts = Math.max(1, options.attempts ?? 3);
  for (let attempt = 1; ; attempt++) {
    const read = await readActor(client, orderId, options.callTimeoutMs ?? 5000, Math.max(1, options.readAttempts ?? 5));
    if (read.kind !== 'view') return read;
    const events = await readStream(db, orderStreamId(orderId));
    const fold = foldRecorded(orderDecider, events);
    const { view } = read;
    const difference =
      view.version !== events.length
        ? `version ${view.version} ≠ stream ${events.length}`
        : sameJson(view.state, fold)
          ? ''
          : `state differs (workflow ${view.state.status}, fold ${fold.status})`;
    if (difference === '') return { ...read, kind: 'agrees', streamVersion: events.length, difference };
    if (read.condition.state !== 'running' || attempt >= attempts) return { ...read, kind: 'differs', streamVersion: events.length, difference };
    await sleep(200 * attempt);
  }
}

/**
 * Invariant 4: for every order, the fold of its Postgres stream equals the actor's state: a running
 * workflow's `getOrder` query, a completed one's result ({state, version}). A running order may be
 * between appending and evolving, so a disagreement is re-read a few times before it counts.
 * A stranded actor (running, its workflow task failing) is a violation that names the failure; an
 * actor that does not answer in time is asked again with backoff, and counts only if it never
 * does. Orders Temporal no longer knows (retention) or that closed without a result (terminated)
 * are counted and noted, not violations. `db` should read fresh (not an old snapshot): the actors
 * move on.
 */
export async function checkOrderWorkflows(
  db: Queryable,
  client: Client | undefined,
  filter: InvariantFilter = {},
  options: WorkflowCheckOptions = {},
): Promise<InvariantResult> {
  if (!client) return skipped(WORKFLOW_INVARIANT.id, WORKFLOW_INVARIANT.title, 'skipped: no Temporal client given');
  const result = new ResultBuilder(WORKFLOW_INVARIANT.id, WORKFLOW_INVARIANT.title);
  const only = streamIdsOfType(filter.streamIds, orderStreams);
  if (only?.length === 0) return result.build();

  const streamIds = await streamIdsByLastChange(db, { streamType: ORDER_STREAM_TYPE, streamIds: only, limit: options.maxOrders });
  const notChecked = (await countStreams(db, { streamType: ORDER_STREAM_TYPE, streamIds: only })) - streamIds.length;
  if (notChecked > 0) {
    result.count('notChecked', notChecked);
    result.note(`${notChecked} older order(s) not checked (maxOrders ${options.maxOrders})`);
  }

  const callTimeoutMs = options.callTimeoutMs ?? 5000;
  await withConcurrency(streamIds, options.concurrency ?? 8, async (streamId) => {
    const orderId = aggregateIdOf(orderStreams, streamId);
    result.checked();
    const verdict = await compareActorWithStream(db, client, orderId, { ...options, callTimeoutMs });
    switch (verdict.kind) {
      case 'missing':
        result.count('workflowNotFound');
        result.note(`order ${orderId}: no workflow ${orderWorkflowId(orderId)} (past retention?)`);
        return;
      case 'closedWithoutResult':
        result.count('closedWithoutResult');
        result.note(`order ${orderId}: workflow ${describeCondition(verdict.condition)}, no result to compare`);
        return;
      case 'stranded':
        result.count('stranded');
        result.violation(
          `order ${orderId}: stranded, actor ${describeCondition(verdict.condition)}; it takes no command until healed (npm run orders -- heal ${orderId})`,
        );
        return;
      case 'unanswered': {
        // Not verifiable is not a pass: no worker answering, or Temporal unavailable.
        result.count('unreachable');
        const actor = verdict.condition ? `actor ${describeCondition(verdict.condition)}` : 'could not describe it either';
        result.violation(
          `order ${orderId}: did not answer in ${verdict.tries} tries over ${(verdict.tookMs / 1000).toFixed(1)} s (${callTimeoutMs} ms each): ${verdict.error}; ${actor}`,
        );
        return;
      }
      default:
        if (verdict.tries > 1) {
          result.count('answeredAfterRetries');
          result.note(`order ${orderId}: answered on try ${verdict.tries}, after ${(verdict.tookMs / 1000).toFixed(1)} s`);
        }
        if (verdict.kind === 'differs')
          result.violation(`order ${orderId} (${verdict.condition.state === 'running' ? 'running' : 'completed'}): ${verdict.difference}`);
    }
  });
  return result.build();
}
