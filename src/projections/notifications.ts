import type { Pool } from '../db/pool';
import { inTransaction } from '../db/pool';
import { type Queryable, type RecordedEvent } from '../eventstore';
import type { Projection } from './types';
import { readStream } from '../application/eventStore';

const KIND_BY_TYPE: Record<string, 'order_confirmed' | 'order_cancelled' | 'order_expired'> = {
  CheckoutSucceeded: 'order_confirmed',
  OrderCancelled: 'order_cancelled',
  OrderExpired: 'order_expired',
};

/**
 * An integration consumer: one notification per confirmed, cancelled or expired order. The inbox
 * row (keyed by event id) and the notification are written in the caller's transaction, so an
 * event delivered again (a replayed batch, a retried dead letter, a rebuild) does nothing.
 */
export async function handleNotification(tx: Queryable, event: RecordedEvent): Promise<boolean> {
  const kind = KIND_BY_TYPE[event.type];
  if (!kind || event.streamType !== 'order') return false;
  const inbox = await tx.query('INSERT INTO notification_inbox (event_id) VALUES ($1) ON CONFLICT (event_id) DO NOTHING', [event.eventId]);
  if (inbox.rowCount !== 1) return false;
  const [created] = await readStream(tx, event.streamId, { toVersion: 1 });
  const customerId = (created?.data as { customerId?: string } | undefined)?.customerId ?? null;
  await tx.query('INSERT INTO notifications (event_id, order_id, customer_id, kind) VALUES ($1, $2, $3, $4)', [
    event.eventId,
    event.streamId.replace(/^order-/, ''),
    customerId,
    kind,
  ]);
  return true;
}

/** Delivers one event in its own transaction: what a broker-fed consumer would do per message. */
export function deliverNotification(pool: Pool, event: RecordedEvent): Promise<boolean> {
  return inTransaction(pool, (tx) => handleNotification(tx, event));
}

/** Fed by the projector like a read model; its inbox, not the checkpoint, makes it exactly-once. */
export const notificationsConsumer: Projection = {
  name: 'notifications',
  streamTypes: ['order'],
  eventTypes: Object.keys(KIND_BY_TYPE),
  // Not rebuilt: notifications are effects already sent, not a model.
  async applyStream(tx, events) {
    for (const event of events) await handleNotification(tx, event);
  },
};
