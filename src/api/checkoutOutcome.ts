import { orderStreamId, type OrderEvent } from '../domain/order';
import { type Queryable } from '../eventstore';
import type { OrderGateway } from './orderGateway';
import { eventsOfTypes } from '../application/eventStore';

/** Once the saga has finished its outcome is one append away: look after 25 ms, then less often. */
const OUTCOME_POLL_MS = { first: 25, max: 500 };

const CHECKOUT_EVENTS: ReadonlyArray<OrderEvent['type']> = ['OrderPlaced', 'CheckoutSucceeded', 'CheckoutFailed'];

/**
 * The checkout placed at `placedVersion` (its OrderPlaced event): its attempt, and whether its
 * outcome (the next CheckoutSucceeded or CheckoutFailed) is in the stream yet.
 */
async function checkoutProgress(db: Queryable, orderId: string, placedVersion: number): Promise<{ attempt?: number; settledAt?: number }> {
  const events = await eventsOfTypes(db, orderStreamId(orderId), CHECKOUT_EVENTS, { fromVersion: placedVersion, limit: 2 });
  const placed = events[0] && ({ type: events[0].type, data: events[0].data } as OrderEvent);
  const outcome = events.find((e) => e.type !== 'OrderPlaced');
  return { attempt: placed?.type === 'OrderPlaced' ? placed.data.checkoutAttempt : undefined, settledAt: outcome?.version };
}

/**
 * The version at which the checkout placed at `placedVersion` recorded its outcome, if it did by
 * `deadline`: waits for its saga to finish (a long poll), then for the outcome event in the
 * order's stream, which the order appends a moment later.
 */
export async function checkoutSettledAt(
  db: Queryable,
  gateway: OrderGateway,
  orderId: string,
  placedVersion: number,
  deadline: number,
): Promise<number | undefined> {
  let progress = await checkoutProgress(db, orderId, placedVersion);
  if (progress.settledAt === undefined && progress.attempt !== undefined) await gateway.sagaFinished(orderId, progress.attempt, deadline);
  for (let pause = OUTCOME_POLL_MS.first; progress.settledAt === undefined && Date.now() < deadline; pause = Math.min(pause * 2, OUTCOME_POLL_MS.max)) {
    await new Promise((resolve) => setTimeout(resolve, pause));
    progress = await checkoutProgress(db, orderId, placedVersion);
  }
  return progress.settledAt;
}
