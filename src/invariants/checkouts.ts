import type { Client } from '@temporalio/client';
import { evolveOrder, initialOrderState, ORDER_STREAM_TYPE, type OrderEvent, type OrderState, orderStreamId, orderStreams } from '../domain/order';
import { readStreamsOfType, timeSinceLastEvent, type Queryable } from '../eventstore';
import { describeCondition, inspectWorkflow, type WorkflowCondition } from '../operations/workflowHealth';
import { checkoutWorkflowId, FORWARD_STEP, UNDO_STEP, type StepPolicy } from '../workflows/checkout';
import { LOCAL_ATTEMPTS } from '../workflows/localFirst';
import { orderWorkflowId } from '../workflows/orderContract';
import { aggregateIdOf, foldChecked, streamIdsOfType, withConcurrency } from './streams';
import { ResultBuilder, skipped, type InvariantFilter, type InvariantResult } from './types';
import { eventSchemas } from '../domain/eventSchemas';

export const CHECKOUT_INVARIANT = { id: '6', title: 'no stranded checkout (a PLACED order has its saga running, within its deadline)' };

/**
 * The longest `attempts` attempts of one saga step can take: every attempt runs to its
 * start-to-close timeout, with the retry backoff between attempts.
 */
function attemptsBudgetMs(policy: StepPolicy, attempts: number, startToCloseMs = policy.startToCloseMs): number {
  let backoff = 0;
  for (let retry = 0; retry < attempts - 1; retry++) {
    backoff += Math.min(policy.initialIntervalMs * policy.backoffCoefficient ** retry, policy.maximumIntervalMs);
  }
  return attempts * startToCloseMs + backoff;
}

/** A step of a saga since `local-checkout-steps`: its local attempts, then the regular activity's `attempts` (src/workflows/localFirst.ts). */
function stepBudgetMs(policy: StepPolicy, attempts: number): number {
  return attemptsBudgetMs(policy, LOCAL_ATTEMPTS.maximumAttempts, LOCAL_ATTEMPTS.startToCloseMs) + attemptsBudgetMs(policy, attempts);
}

/**
 * A forward step (reserve, debit, commit), as `forward` in src/workflows/checkout.ts: 3 local
 * attempts of 5 s (retried after 200 and 400 ms), then the regular activity: 10 s start-to-close,
 * retries from 200 ms doubling to 5 s, 8 attempts. 15.6 s + 8 × 10 s + 16.2 s = 111.8 s.
 */
export const CHECKOUT_FORWARD_STEP_MS = stepBudgetMs(FORWARD_STEP, FORWARD_STEP.maximumAttempts!);

/**
 * An undo step (give back stock, refund), as `undo` in src/workflows/checkout.ts: 3 local attempts
 * of 5 s (after 500 ms and 1 s), then the regular activity: 10 s start-to-close, retries from
 * 500 ms doubling to 30 s. The saga gives undos no attempt limit (they must succeed eventually), so
 * they have no deadline of their own: an undo is allowed as many regular attempts as a forward
 * step (16.5 s + 8 × 10 s + 61.5 s = 158 s), and one still failing after that is stuck, not slow.
 */
export const CHECKOUT_UNDO_STEP_MS = stepBudgetMs(UNDO_STEP, FORWARD_STEP.maximumAttempts!);

/**
 * The actor's side of a checkout: after OrderPlaced it starts the saga, and after the saga it
 * records the outcome; each is one workflow task and, for the outcome, one append activity with a
 * 10 s start-to-close. An actor that has done neither within three such appends is not about to.
 */
export const CHECKOUT_HANDOFF_MS = 30_000;

/**
 * How long an order may stay PLACED: its saga's worst case with `lineCount` lines, every forward
 * step (reserve each line, debit, commit each line) and every undo (each line, the refund) using
 * its whole budget, plus the actor's two handoffs. 1 line: 3 × 111.8 + 2 × 158 + 2 × 30 = 711.4 s.
 */
export function checkoutDeadlineMs(lineCount: number): number {
  return (2 * lineCount + 1) * CHECKOUT_FORWARD_STEP_MS + (lineCount + 1) * CHECKOUT_UNDO_STEP_MS + 2 * CHECKOUT_HANDOFF_MS;
}

export interface CheckoutCheckOptions {
  /** Temporal calls in flight at once (default 8). */
  concurrency?: number;
  /** Deadline of each Temporal call (default 5000). */
  callTimeoutMs?: number;
  /** How long the actor may take to start its saga or record its outcome (default CHECKOUT_HANDOFF_MS). */
  handoffMs?: number;
}

interface PlacedOrder {
  orderId: string;
  attempt: number;
  lineCount: number;
  /** Since OrderPlaced was stored, by the database's clock. */
  placedForMs: number;
}

const seconds = (ms: number) => `${Math.round(ms / 1000)} s`;

async function stillPlaced(db: Queryable, order: PlacedOrder): Promise<boolean> {
  for await (const stream of readStreamsOfType(db, ORDER_STREAM_TYPE, { streamIds: [orderStreamId(order.orderId)], schemas: eventSchemas })) {
    const state = foldChecked<OrderState, OrderEvent>(initialOrderState, evolveOrder, stream.events);
    return state.status === 'PLACED' && state.checkoutAttempts === order.attempt;
  }
  return false;
}

/** `saga checkout-x-1 COMPLETED 42 s ago`, `saga checkout-x-1 TERMINATED without a result 3 s ago`, `no saga workflow checkout-x-1 (…)`. */
function describeSaga(sagaId: string, saga: Exclude<WorkflowCondition, { state: 'running' }>, sinceMs: number): string {
  if (saga.state === 'missing') return `no saga workflow ${sagaId} (since checkout-in-actor the saga runs in the actor)`;
  return `saga ${sagaId} ${saga.status}${saga.status === 'COMPLETED' ? '' : ' without a result'} ${seconds(sinceMs)} ago`;
}

/**
 * Invariant 6: every order whose stream says PLACED has a checkout that will end, within the
 * checkout's deadline (`checkoutDeadlineMs`). Since `checkout-in-actor` the saga runs in the
 * order's actor, which must be running with no failing workflow task. Before, it ran as a child
 * (`checkout-<orderId>-<attempt>`), which must be running; a saga that ended (completed,
 * terminated, failed) or never started must be followed by the actor recording the outcome,
 * which a running actor whose workflow task is not failing gets CHECKOUT_HANDOFF_MS to do. Everything else is a stranded order: nothing will
 * move it without an operator (`npm run orders -- heal <orderId>`). Reads streams fresh: the actors move on.
 */
export async function checkCheckouts(
  db: Queryable,
  client: Client | undefined,
  filter: InvariantFilter = {},
  options: CheckoutCheckOptions = {},
): Promise<InvariantResult> {
  if (!client) return skipped(CHECKOUT_INVARIANT.id, CHECKOUT_INVARIANT.title, 'skipped: no Temporal client given');
  const result = new ResultBuilder(CHECKOUT_INVARIANT.id, CHECKOUT_INVARIANT.title);
  const only = streamIdsOfType(filter.streamIds, orderStreams);
  if (only?.length === 0) return result.build();

  const placed: Omit<PlacedOrder, 'placedForMs'>[] = [];
  for await (const stream of readStreamsOfType(db, ORDER_STREAM_TYPE, { streamIds: only, schemas: eventSchemas })) {
    result.checked();
    const state = foldChecked<OrderState, OrderEvent>(initialOrderState, evolveOrder, stream.events);
    if (state.status === 'PLACED')
      placed.push({ orderId: aggregateIdOf(orderStreams, stream.streamId), attempt: state.checkoutAttempts, lineCount: state.items.length });
  }
  if (placed.length === 0) return result.build();
  const placedFor = await timeSinceLastEvent(db, { streamIds: placed.map((p) => orderStreamId(p.orderId)), type: 'OrderPlaced' });

  const callTimeoutMs = options.callTimeoutMs ?? 5000;
  const handoffMs = options.handoffMs ?? CHECKOUT_HANDOFF_MS;
  const inspect = (workflowId: string) => client.withDeadline(Date.now() + callTimeoutMs, () => inspectWorkflow(client, workflowId));

  await withConcurrency(placed, options.concurrency ?? 8, async (found) => {
    const order: PlacedOrder = { ...found, placedForMs: placedFor.get(orderStreamId(found.orderId)) ?? 0 };
    const sagaId = checkoutWorkflowId(order.orderId, order.attempt);
    const deadlineMs = checkoutDeadlineMs(order.lineCount);
    const problems: string[] = [];
    if (order.placedForMs > deadlineMs) {
      problems.push(`PLACED for ${seconds(order.placedForMs)}, past the checkout's deadline of ${seconds(deadlineMs)} (${order.lineCount} line(s))`);
    }
    const stuck = (what: string[]) => result.violation(`order ${order.orderId} (checkout attempt ${order.attempt}): ${what.join('; ')}`);

    let saga: WorkflowCondition;
    try {
      saga = await inspect(sagaId);
    } catch (err) {
      result.count('unreachable');
      stuck([...problems, `could not describe saga ${sagaId}: ${(err as Error).message}`]);
      return;
    }
    if (saga.state === 'running') {
      if (problems.length > 0) return stuck([...problems, `saga ${sagaId} still running`]);
      result.count('inFlight');
      result.note(`order ${order.orderId}: checkout attempt ${order.attempt} in flight for ${seconds(order.placedForMs)} (deadline ${seconds(deadlineMs)})`);
      return;
    }

    // The saga is over (or never began): the actor may have recorded it since the stream was read.
    if (!(await stillPlaced(db, order))) {
      result.count('settledMeanwhile');
      return;
    }
    const waitingMs = saga.state === 'closed' && saga.closedAt ? Date.now() - saga.closedAt.getTime() : order.placedForMs;
    const sagaWhat = describeSaga(sagaId, saga, waitingMs);
    let actor: WorkflowCondition;
    try {
      actor = await inspect(orderWorkflowId(order.orderId));
    } catch (err) {
      result.count('unreachable');
      stuck([...problems, `${sagaWhat}, and the actor could not be described: ${(err as Error).message}`]);
      return;
    }
    const actorWorking = actor.state === 'running' && actor.failingTask === null;
    // Since `checkout-in-actor` there is no saga workflow: the actor runs the saga itself.
    if (saga.state === 'missing' && actorWorking && problems.length === 0) {
      result.count('inFlight');
      result.note(
        `order ${order.orderId}: checkout attempt ${order.attempt} in flight in its actor for ${seconds(order.placedForMs)} (deadline ${seconds(deadlineMs)})`,
      );
      return;
    }
    if (actorWorking && waitingMs <= handoffMs && problems.length === 0) {
      result.count('handingOver');
      result.note(`order ${order.orderId}: ${sagaWhat}; the actor is recording it`);
      return;
    }
    result.count('stranded');
    stuck([...problems, `${sagaWhat}, and the order never recorded an outcome`, `actor ${describeCondition(actor)}`]);
  });
  return result.build();
}
