import { DomainError } from '../domain/decider';
import { currentSchemaVersion } from '../domain/eventSchemas';
import { decideOrder, ORDER_STREAM_TYPE, orderStreamId, type OrderCommand, type OrderEvent, type OrderState } from '../domain/order';
import { inTransaction, type EventMetadata, type Queryable, type TransactionalDb } from '../eventstore';
import { catalogEntries } from './catalog';
import { appendToStream, readStream } from './eventStore';

type AddItem = Extract<OrderCommand, { type: 'AddItem' }>;
type PlaceOrder = Extract<OrderCommand, { type: 'PlaceOrder' }>;

/** An order command the catalog prices, as the actor sends it: without the prices, which this step looks up. */
export type UnpricedOrderCommand = Omit<AddItem, 'product'> | Omit<PlaceOrder, 'catalog'>;

export interface PricedOrderCommandInput {
  orderId: string;
  /** The actor's state and version: what the command is decided on, and where its event goes. */
  state: OrderState;
  version: number;
  command: UnpricedOrderCommand;
  /** The stored event's id, time and metadata, fixed by the actor: every attempt stores the same event. */
  event: { eventId: string; occurredAt: string; metadata: EventMetadata };
}

export type PricedOrderCommandResult =
  { status: 'accepted'; events: OrderEvent[]; version: number } | { status: 'rejected'; code: string; message: string; kind: DomainError['kind'] };

/**
 * AddItem or PlaceOrder priced at the catalog's current prices, decided on the actor's state and
 * its event stored, as one step: the actor's command costs one activity instead of a look-up and
 * an append. It runs more than once when an attempt times out, and the attempts may overlap (a
 * timed-out attempt is abandoned, not stopped), while the catalog changes between them. So that
 * the answer the actor gets is always what the stream holds:
 * - each attempt holds the stream's row lock for the whole step, and first answers the event an
 *   earlier attempt stored, whatever the catalog says now;
 * - an attempt stores only before `deadline`, when the next attempt may start: past it, a later
 *   attempt may already have answered differently (it waits for this attempt's lock), so this one
 *   rolls back.
 */
export async function decidePricedOrderCommand(
  db: TransactionalDb,
  input: PricedOrderCommandInput,
  attempt: { deadline: number },
): Promise<PricedOrderCommandResult> {
  const { orderId, state, version, command, event } = input;
  const streamId = orderStreamId(orderId);
  return inTransaction(db, async (tx) => {
    // Waits end with the attempt: one that queued for the lock behind a stuck holder, or a holder
    // stalled mid-step, would otherwise keep a pooled connection (and the lock) past its deadline,
    // and every retry would queue behind it.
    const left = attempt.deadline - Date.now();
    if (left <= 0) throw pastDeadline(command.type);
    await tx.query("SELECT set_config('lock_timeout', $1, true), set_config('idle_in_transaction_session_timeout', $1, true)", [`${Math.ceil(left)}ms`]);
    // The lock first, alone: a statement that waited for it still reads from its own older
    // snapshot, so what an earlier attempt stored is read by the next statement.
    await tx.query('SELECT 1 FROM streams WHERE stream_id = $1 FOR UPDATE', [streamId]);
    const earlier = await storedBefore(tx, streamId, version, event.eventId);
    if (earlier) return { commit: false, result: earlier };
    const catalog = await catalogEntries(tx, command.type === 'AddItem' ? [command.productId] : state.items.map((l) => l.productId));
    let events: OrderEvent[];
    try {
      events = decideOrder(command.type === 'AddItem' ? { ...command, product: catalog[command.productId] ?? null } : { ...command, catalog }, state);
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      return { commit: false, result: { status: 'rejected', code: err.code, message: err.message, kind: err.kind } };
    }
    // Both commands decide one event or refuse: the actor fixed one id.
    if (events.length !== 1) throw new Error(`${command.type} decided ${events.length} events; the step stores exactly one`);
    const [decided] = events as [OrderEvent];
    const stored = await appendToStream(tx, streamId, ORDER_STREAM_TYPE, version, [
      { ...event, type: decided.type, data: decided.data, schemaVersion: currentSchemaVersion(ORDER_STREAM_TYPE, decided.type) },
    ]);
    if (Date.now() >= attempt.deadline) throw pastDeadline(command.type);
    return { commit: true, result: { status: 'accepted', events, version: stored.nextExpectedVersion } };
  });
}

const pastDeadline = (type: string) => new Error(`The attempt ran past its deadline; the next attempt decides ${type} instead.`);

/** The event an earlier attempt stored at `version + 1` under `eventId`, as that attempt answered it; undefined if none did. */
async function storedBefore(db: Queryable, streamId: string, version: number, eventId: string): Promise<PricedOrderCommandResult | undefined> {
  const [next] = await readStream(db, streamId, { fromVersion: version + 1, toVersion: version + 1 });
  if (next?.eventId !== eventId) return undefined;
  return { status: 'accepted', events: [{ type: next.type, data: next.data } as OrderEvent], version: next.version };
}
