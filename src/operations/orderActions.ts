import { createHash } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { OrderGateway, type OrderActorSettings } from '../api/orderGateway';
import { ApiError } from '../api/problem';
import { readOrder } from '../application/orderRecord';
import { operatorCommandKey } from '../domain/commandIds';
import { isTerminal, orderStreamId, type OrderState } from '../domain/order';
import type { Queryable } from '../eventstore';
import { listActions } from './operatorActions';

/*
 * An operator's cancel or ship (`npm run orders -- cancel|ship <id>`): the order's actor decides
 * `CancelOrder` or `MarkShipped` as it would the API's (a confirmed order is refunded and
 * restocked before it is cancelled; a cancel's reason is in its event); who asked and why are in
 * `operator_actions` (the command line records each run there, as the console does). Idempotent:
 * an order already in the status the action leads to is left as it is, and the command's key is
 * the same for every run of an action on an order with the same request (`operator:ship`;
 * `operator:cancel:<digest of the reason>`, as the reason is part of a cancel), so a run retried
 * after a timeout gets the first run's answer instead of acting twice. A re-run with another reason
 * is another command: the actor decides it after the first, which has cancelled the order, so it
 * changes nothing and the run reports already-done. The keys are in the operators' namespace,
 * which no client's Idempotency-Key can reach (commandIdOf refuses `operator:` keys), so a
 * customer cannot block or pre-empt an operator's command by sending its key first.
 */

export type OrderActionName = 'cancel' | 'ship';

const ACTIONS = {
  cancel: { command: 'CancelOrder', leadsTo: 'CANCELLED' },
  ship: { command: 'MarkShipped', leadsTo: 'SHIPPED' },
} as const satisfies Record<OrderActionName, { command: string; leadsTo: OrderState['status'] }>;

/** The order command's key for an operator's action: the same for the same request, in the operators' namespace. */
export function operatorOrderCommandKey(action: OrderActionName, reason: string): string {
  if (action === 'ship') return operatorCommandKey('ship');
  return operatorCommandKey('cancel', createHash('sha256').update(reason).digest('hex').slice(0, 32));
}

export type OrderActionOutcome = 'done' | 'already-done' | 'refused' | 'not-found' | 'retry-later';

export interface OrderActionReport {
  orderId: string;
  action: OrderActionName;
  outcome: OrderActionOutcome;
  /** For a refusal or a retry-later, the stable code (ORDER_CLOSED, ORDER_NOT_CONFIRMED, ORDER_UNAVAILABLE, COMMAND_TIMEOUT, …). */
  code?: string;
  message: string;
  /** The order as its stream records it after this run. */
  status: OrderState['status'] | null;
  version: number;
  /** The operator action that did it, as recorded (none when the API's caller did): this run's, or an earlier one's. */
  doneBy?: { operator: string; reason: string; at: string };
}

export interface OrderActionDeps {
  db: Queryable;
  client: Client;
  actors: OrderActorSettings;
}

/** The first operator action of this kind on the order that was done, as `operator_actions` recorded it. */
async function doneBefore(db: Queryable, orderId: string, action: OrderActionName): Promise<OrderActionReport['doneBy']> {
  const actions = await listActions(db, { target: orderStreamId(orderId), limit: 50 });
  const first = actions.filter((a) => a.action === action && (a.outcome as { status?: string } | null)?.status === 'done').at(-1);
  return first && { operator: first.operator, reason: first.reason, at: first.requestedAt };
}

const RETRY_LATER = new Set(['ORDER_UNAVAILABLE', 'COMMAND_TIMEOUT', 'TOO_MANY_REQUESTS', 'DATABASE_UNAVAILABLE']);

/** `operator` and `reason`: who asks and why (the reason also goes into a cancel's event). */
export async function runOrderAction(
  deps: OrderActionDeps,
  orderId: string,
  action: OrderActionName,
  request: { reason: string; operator: string },
): Promise<OrderActionReport> {
  const { command, leadsTo } = ACTIONS[action];
  const key = operatorOrderCommandKey(action, request.reason);
  const report = async (outcome: OrderActionOutcome, message: string, code?: string): Promise<OrderActionReport> => {
    const { state, version } = await readOrder(deps.db, orderId);
    const doneBy =
      outcome === 'done' ? { ...request, at: new Date().toISOString() } : state.status === leadsTo ? await doneBefore(deps.db, orderId, action) : undefined;
    return {
      orderId,
      action,
      outcome,
      ...(code ? { code } : {}),
      message,
      status: version === 0 ? null : state.status,
      version,
      ...(doneBy ? { doneBy } : {}),
    };
  };

  const before = await readOrder(deps.db, orderId);
  if (before.version === 0) return report('not-found', 'There is no such order.', 'ORDER_NOT_FOUND');
  if (before.state.status === leadsTo) return report('already-done', `The order was already ${leadsTo}; nothing done.`);
  if (isTerminal(before.state.status)) return report('refused', `The order is ${before.state.status}; it takes no more commands.`, 'ORDER_CLOSED');

  const gateway = new OrderGateway(deps.client, deps.actors, deps.db);
  try {
    if (command === 'CancelOrder') await gateway.send(orderId, command, { reason: request.reason }, key);
    else await gateway.send(orderId, command, {}, key);
    return report('done', `The order is ${leadsTo}.`);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    // Another run or the API's caller got there first: the order is where this action leads all the same.
    if ((await readOrder(deps.db, orderId)).state.status === leadsTo)
      return report('already-done', `The order became ${leadsTo} meanwhile; nothing more done.`);
    if (err.status === 404) return report('not-found', err.message, err.code);
    if (RETRY_LATER.has(err.code)) return report('retry-later', err.message, err.code);
    return report('refused', err.message, err.code);
  }
}
