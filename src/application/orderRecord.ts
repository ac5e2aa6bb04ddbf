import { orderDecider, type OrderState } from '../domain/order';
import { foldRecorded, readStream, type Queryable } from '../eventstore';
import { orderStreamId } from '../workflows/orderContract';

/*
 * An order as its Postgres stream records it: the record outlives the actor (Temporal deletes a
 * finished workflow after its retention), so reads and refusals fall back to it.
 */

/** The order folded from its stream, up to `toVersion` if given; version 0 when there is no such order. */
export async function readOrder(db: Queryable, orderId: string, toVersion?: number): Promise<{ state: OrderState; version: number }> {
  const events = await readStream(db, orderStreamId(orderId), { toVersion });
  return { state: foldRecorded(orderDecider, events), version: events.length > 0 ? events[events.length - 1]!.version : 0 };
}

/** Whether the order's stream exists: one look at the streams table. */
export async function orderRecorded(db: Queryable, orderId: string): Promise<boolean> {
  const { rows } = await db.query('SELECT 1 FROM streams WHERE stream_id = $1', [orderStreamId(orderId)]);
  return rows.length > 0;
}

/** What an accepted command stored: the version after it, its events' types, its fingerprint, the status it left. */
export interface AcceptedCommandRecord {
  version: number;
  events: string[];
  fingerprint: string;
  orderStatus: OrderState['status'];
}

/** What the stream says a command id did, or null when no event carries it. */
export async function findAcceptedCommand(db: Queryable, orderId: string, commandId: string): Promise<AcceptedCommandRecord | null> {
  const events = await readStream(db, orderStreamId(orderId));
  const own = events.filter((e) => e.metadata.commandId === commandId);
  const last = own[own.length - 1];
  if (!last) return null;
  return {
    version: last.version,
    events: own.map((e) => e.type),
    fingerprint: String(last.metadata.commandFingerprint ?? ''),
    orderStatus: foldRecorded(orderDecider, events.filter((e) => e.version <= last.version)).status,
  };
}
