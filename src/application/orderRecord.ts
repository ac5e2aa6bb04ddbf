import { clientKeyOf, orderCommandIdAsStored } from '../domain/commandIds';
import { ORDER_STREAM_TYPE, orderDecider, orderStreamId, type OrderState } from '../domain/order';
import { eventsOfCommands, streamVersion, type Queryable } from '../eventstore';
import { foldStream } from './eventStore';

/*
 * An order as its Postgres stream records it: the record outlives the actor (Temporal deletes a
 * finished workflow after its retention), so reads and refusals fall back to it.
 */

/** The order folded from its stream, up to `toVersion` if given; version 0 when there is no such order. */
export async function readOrder(db: Queryable, orderId: string, toVersion?: number): Promise<{ state: OrderState; version: number }> {
  return foldStream(db, orderStreamId(orderId), orderDecider, { toVersion });
}

/** Whether the order's stream exists: one look at the streams table. */
export async function orderRecorded(db: Queryable, orderId: string): Promise<boolean> {
  return (await streamVersion(db, orderStreamId(orderId))) > 0;
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
  // A client's key stored before the namespaces carries no prefix: look for that spelling too.
  const found = await eventsOfCommands(db, { id: orderStreamId(orderId), type: ORDER_STREAM_TYPE }, [commandId, clientKeyOf(commandId) ?? commandId]);
  const events = found.filter((e) => orderCommandIdAsStored(String(e.metadata.commandId)) === commandId);
  const last = events[events.length - 1];
  if (!last) return null;
  const version = last.version;
  return {
    version,
    events: events.map((e) => e.type),
    fingerprint: typeof last.metadata.commandFingerprint === 'string' ? last.metadata.commandFingerprint : '',
    orderStatus: (await readOrder(db, orderId, version)).state.status,
  };
}
