import type { Client } from '@temporalio/client';
import { OrderGateway, type OrderActorSettings } from '../api/orderGateway';
import { ApiError } from '../api/problem';
import { readOrder } from '../application/orderRecord';
import { readStream } from '../application/eventStore';
import { isTerminal, orderStreamId, type OrderState } from '../domain/order';
import type { Queryable } from '../eventstore';
import { listActions } from './operatorActions';

/*
 * An operator's cancel (`npm run orders -- cancel <id> --reason …`): the order's actor decides
 * `CancelOrder` as it would a customer's (a confirmed order is refunded and restocked first), with
 * the operator's reason in the event; who asked is in `operator_actions` (the command line records
 * each run there, as the console does). Idempotent: an order already cancelled is left as it is,
 * and the command's key is the same for every run on an order, so a run retried after a timeout
 * gets the first run's answer instead of acting twice.
 */

export type CancelOutcome = 'cancelled' | 'already-cancelled' | 'refused' | 'not-found' | 'retry-later';

export interface CancelReport {
  orderId: string;
  outcome: CancelOutcome;
  /** For a refusal or a retry-later, the stable code (ORDER_CLOSED, ORDER_UNAVAILABLE, COMMAND_TIMEOUT, …). */
  code?: string;
  message: string;
  /** The order as its stream records it after this run. */
  status: OrderState['status'] | null;
  version: number;
  /** Who cancelled it and why: this run's, or the earlier cancel's as recorded. */
  cancelledBy?: string;
  reason?: string;
}

export interface CancelDeps {
  db: Queryable;
  client: Client;
  actors: OrderActorSettings;
}

/** The idempotency key of an operator's cancel: one per order (keys are per order), whoever runs it. */
export const OPERATOR_CANCEL_KEY = 'operator-cancel';

/** The `OrderCancelled` event's reason, and who cancelled: the first operator action that did (none when the customer did). */
async function recordedCancel(db: Queryable, orderId: string): Promise<{ reason?: string; cancelledBy?: string }> {
  const [events, actions] = await Promise.all([readStream(db, orderStreamId(orderId)), listActions(db, { target: orderStreamId(orderId), limit: 50 })]);
  const reason = (events.filter((e) => e.type === 'OrderCancelled').at(-1)?.data as { reason?: unknown } | undefined)?.reason;
  const first = actions.filter((a) => a.action === 'cancel' && (a.outcome as { status?: string } | null)?.status === 'done').at(-1);
  return { ...(typeof reason === 'string' ? { reason } : {}), ...(first ? { cancelledBy: first.operator } : {}) };
}

const RETRY_LATER = new Set(['ORDER_UNAVAILABLE', 'COMMAND_TIMEOUT', 'TOO_MANY_REQUESTS', 'DATABASE_UNAVAILABLE']);

/** `operator` is who asks: the report names them as who cancelled, when this run did. */
export async function cancelOrder(deps: CancelDeps, orderId: string, request: { reason: string; operator: string }): Promise<CancelReport> {
  const now = async () => readOrder(deps.db, orderId);
  const report = async (outcome: CancelOutcome, message: string, code?: string): Promise<CancelReport> => {
    const { state, version } = await now();
    const recorded = state.status === 'CANCELLED' ? await recordedCancel(deps.db, orderId) : {};
    return { orderId, outcome, ...(code ? { code } : {}), message, status: version === 0 ? null : state.status, version, ...recorded };
  };

  const before = await now();
  if (before.version === 0) return report('not-found', 'There is no such order.', 'ORDER_NOT_FOUND');
  if (before.state.status === 'CANCELLED') return report('already-cancelled', 'The order was already cancelled; nothing done.');
  if (isTerminal(before.state.status)) return report('refused', `The order is ${before.state.status}; it can no longer be cancelled.`, 'ORDER_CLOSED');

  const gateway = new OrderGateway(deps.client, deps.actors, deps.db);
  try {
    await gateway.send(orderId, 'CancelOrder', { reason: request.reason }, OPERATOR_CANCEL_KEY);
    return { ...(await report('cancelled', 'The order is cancelled.')), cancelledBy: request.operator };
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    // Another cancel got there first (a second run, the customer): the order is cancelled all the same.
    if ((await now()).state.status === 'CANCELLED') return report('already-cancelled', 'The order was cancelled meanwhile; nothing more done.');
    if (err.status === 404) return report('not-found', err.message, err.code);
    if (RETRY_LATER.has(err.code)) return report('retry-later', err.message, err.code);
    return report('refused', err.message, err.code);
  }
}
