import type { ReadModelChangeFeed } from '../db/readModelChanges';
import { orderStreamId, type OrderEvent } from '../domain/order';
import { type Queryable } from '../eventstore';
import { eventsOfTypes } from '../application/eventStore';
import { ORDER_SUMMARY } from '../projections/orderSummary';

/**
 * Between wake-ups the stream is read again anyway, after 250 ms and then less often: the
 * notification comes from the projector, and a checkout must settle for the client even while no
 * projector runs (without piling reads on the pool while it is down).
 */
const OUTCOME_RECHECK_MS = { first: 250, max: 2000 };

const CHECKOUT_EVENTS: ReadonlyArray<OrderEvent['type']> = ['OrderPlaced', 'CheckoutSucceeded', 'CheckoutFailed'];

/** The version of the outcome (the next CheckoutSucceeded or CheckoutFailed) of the checkout placed at `placedVersion`, if the stream holds it yet. */
async function outcomeVersion(db: Queryable, orderId: string, placedVersion: number): Promise<number | undefined> {
  const events = await eventsOfTypes(db, orderStreamId(orderId), CHECKOUT_EVENTS, { fromVersion: placedVersion, limit: 2 });
  return events.find((e) => e.type !== 'OrderPlaced')?.version;
}

/**
 * The version at which the checkout placed at `placedVersion` recorded its outcome, if it did by
 * `deadline`. Reads the order's stream, then again whenever the order summary applied events of
 * that stream (the projector's notification, a few ms after the append) or OUTCOME_RECHECK_MS
 * passed. Nothing is asked of Temporal: the saga runs in the actor (or, for orders placed before
 * `checkout-in-actor`, in its child), and either way its outcome is an event of the stream.
 */
export async function checkoutSettledAt(
  db: Queryable,
  changes: ReadModelChangeFeed,
  orderId: string,
  placedVersion: number,
  deadline: number,
): Promise<number | undefined> {
  let wake: (() => void) | undefined;
  let heard: boolean;
  // Subscribed before the first read: an outcome appended after it is never missed.
  const unsubscribe = changes.subscribe(ORDER_SUMMARY, [orderStreamId(orderId)], () => {
    heard = true;
    wake?.();
  });
  try {
    for (let recheck = OUTCOME_RECHECK_MS.first; ; recheck = Math.min(recheck * 2, OUTCOME_RECHECK_MS.max)) {
      heard = false;
      const settledAt = await outcomeVersion(db, orderId, placedVersion);
      const left = deadline - Date.now();
      if (settledAt !== undefined || left <= 0) return settledAt;
      if (heard) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(recheck, left));
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  } finally {
    unsubscribe();
  }
}
