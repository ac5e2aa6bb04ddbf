import { clientKeyOf, orderCommandIdAsStored } from '../domain/commandIds';
import { orderDecider, type OrderState, orderStreamId } from '../domain/order';
import { type Queryable } from '../eventstore';
import { readStream } from './eventStore';
import { foldRecorded } from './foldStream';

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

/**
 * What the stream says a command id did, or null when no event carries it: found by the
 * `events_by_command` index, so a key the stream does not know costs one indexed query, and one
 * it knows a fold up to its version.
 */
export async function findAcceptedCommand(db: Queryable, orderId: string, commandId: string): Promise<AcceptedCommandRecord | null> {
  const streamId = orderStreamId(orderId);
  // A client's key stored before the namespaces carries no prefix: look for that spelling too.
  const { rows: found } = await db.query<{ version: string; type: string; command_id: string; fingerprint: string | null }>(
    `SELECT version, type, metadata->>'commandId' AS command_id, metadata->>'commandFingerprint' AS fingerprint
       FROM events WHERE stream_id = $1 AND stream_type = 'order' AND metadata->>'commandId' = ANY($2::text[])
      ORDER BY version`,
    [streamId, [commandId, clientKeyOf(commandId) ?? commandId]],
  );
  const rows = found.filter((r) => orderCommandIdAsStored(r.command_id) === commandId);
  const last = rows[rows.length - 1];
  if (!last) return null;
  const version = Number(last.version);
  return {
    version,
    events: rows.map((r) => r.type),
    fingerprint: last.fingerprint ?? '',
    orderStatus: (await readOrder(db, orderId, version)).state.status,
  };
}
