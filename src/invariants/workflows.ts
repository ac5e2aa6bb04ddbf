import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { orderDecider, ORDER_STREAM_TYPE } from '../domain/order';
import { foldRecorded, readStream, type Queryable } from '../eventstore';
import type { orderWorkflow } from '../workflows/order';
import { getOrderQuery, orderStreamId, orderWorkflowId, type OrderSnapshot } from '../workflows/orderContract';
import { idsWithPrefix } from './streams';
import { ResultBuilder, sameJson, skipped, suffix, type InvariantFilter, type InvariantResult } from './types';

export const WORKFLOW_INVARIANT = { id: '4', title: 'order stream fold = order workflow state (query / result)' };

export interface WorkflowCheckOptions {
  /** At most this many orders, most recently changed first (default: all). */
  maxOrders?: number;
  /** Temporal calls in flight at once (default 8). */
  concurrency?: number;
  /** A running order that disagrees is re-read this many times (it may be mid-command). Default 3. */
  attempts?: number;
  /**
   * Deadline of each order's Temporal calls (describe, then query or result). A query waits for a
   * worker, so an order whose task queue has none would otherwise hang the check. Default 5000.
   */
  callTimeoutMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function withConcurrency<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(lanes);
}

/**
 * Invariant 4: for every order, the fold of its Postgres stream equals the actor's state: a running
 * workflow's `getOrder` query, a completed one's result ({state, version}). A running order may be
 * between appending and evolving, so a disagreement is re-read a few times before it counts.
 * Orders Temporal no longer knows (retention) or that closed without a result (terminated) are
 * counted and noted, not violations. `db` should read fresh (not an old snapshot): the actors move on.
 */
export async function checkOrderWorkflows(
  db: Queryable,
  client: Client | undefined,
  filter: InvariantFilter = {},
  options: WorkflowCheckOptions = {},
): Promise<InvariantResult> {
  if (!client) return skipped(WORKFLOW_INVARIANT.id, WORKFLOW_INVARIANT.title, 'skipped: no Temporal client given');
  const result = new ResultBuilder(WORKFLOW_INVARIANT.id, WORKFLOW_INVARIANT.title);
  const only = idsWithPrefix(filter.streamIds, 'order-');
  if (only?.length === 0) return result.build();

  const { rows } = await db.query<{ stream_id: string }>(
    `SELECT stream_id FROM streams
      WHERE stream_type = $1 AND ($2::text[] IS NULL OR stream_id = ANY($2::text[]))
      ORDER BY updated_at DESC, stream_id LIMIT $3`,
    [ORDER_STREAM_TYPE, only ?? null, options.maxOrders ?? null],
  );
  const { rows: total } = await db.query<{ n: string }>(
    'SELECT count(*) AS n FROM streams WHERE stream_type = $1 AND ($2::text[] IS NULL OR stream_id = ANY($2::text[]))',
    [ORDER_STREAM_TYPE, only ?? null],
  );
  const notChecked = Number(total[0]?.n ?? 0) - rows.length;
  if (notChecked > 0) {
    result.count('notChecked', notChecked);
    result.note(`${notChecked} older order(s) not checked (maxOrders ${options.maxOrders})`);
  }

  const attempts = Math.max(1, options.attempts ?? 3);
  const callTimeoutMs = options.callTimeoutMs ?? 5000;
  await withConcurrency(rows, options.concurrency ?? 8, async ({ stream_id: streamId }) => {
    const orderId = suffix(streamId, 'order-');
    const handle = client.workflow.getHandle<typeof orderWorkflow>(orderWorkflowId(orderId));
    result.checked();
    for (let attempt = 1; ; attempt++) {
      let view: OrderSnapshot;
      let running: boolean;
      try {
        const read = await client.withDeadline(Date.now() + callTimeoutMs, async () => {
          const status = (await handle.describe()).status.name;
          if (status === 'RUNNING') return { status, view: await handle.query(getOrderQuery) };
          if (status === 'COMPLETED') return { status, view: await handle.result() };
          return { status, view: undefined };
        });
        running = read.status === 'RUNNING';
        if (!read.view) {
          result.count('closedWithoutResult');
          result.note(`order ${orderId}: workflow ${read.status}, no result to compare`);
          return;
        }
        view = read.view;
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) {
          result.count('workflowNotFound');
          result.note(`order ${orderId}: no workflow ${orderWorkflowId(orderId)} (past retention?)`);
          return;
        }
        // Not verifiable is not a pass: no worker answering, or Temporal unavailable.
        result.count('unreachable');
        result.violation(`order ${orderId}: could not read the workflow within ${callTimeoutMs} ms: ${(err as Error).message}`);
        return;
      }
      const events = await readStream(db, orderStreamId(orderId));
      const fold = foldRecorded(orderDecider, events);
      if (view.version === events.length && sameJson(view.state, fold)) return;
      if (running && attempt < attempts) {
        await sleep(200 * attempt);
        continue;
      }
      const what = view.version !== events.length ? `version ${view.version} ≠ stream ${events.length}` : `state differs (workflow ${view.state.status}, fold ${fold.status})`;
      result.violation(`order ${orderId} (${running ? 'running' : 'completed'}): ${what}`);
      return;
    }
  });
  return result.build();
}
