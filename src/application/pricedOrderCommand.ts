import { DomainError } from '../domain/decider';
import { currentSchemaVersion } from '../domain/eventSchemas';
import { decideOrder, ORDER_STREAM_TYPE, orderStreamId, type OrderCommand, type OrderEvent, type OrderState } from '../domain/order';
import type { EventMetadata, Queryable } from '../eventstore';
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
 * an append. An attempt after one that stored the event answers the stored event, whatever the
 * catalog says now, so a retry can neither contradict nor double what was stored.
 */
export async function decidePricedOrderCommand(db: Queryable, input: PricedOrderCommandInput): Promise<PricedOrderCommandResult> {
  const { orderId, state, version, command, event } = input;
  const streamId = orderStreamId(orderId);
  const catalog = await catalogEntries(db, command.type === 'AddItem' ? [command.productId] : state.items.map((l) => l.productId));
  let events: OrderEvent[];
  try {
    events = decideOrder(command.type === 'AddItem' ? { ...command, product: catalog[command.productId] ?? null } : { ...command, catalog }, state);
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    return (await storedBefore(db, streamId, version, event.eventId)) ?? { status: 'rejected', code: err.code, message: err.message, kind: err.kind };
  }
  // Both commands decide one event or refuse: the actor fixed one id.
  if (events.length !== 1) throw new Error(`${command.type} decided ${events.length} events; the step stores exactly one`);
  const [decided] = events as [OrderEvent];
  const stored = await appendToStream(db, streamId, ORDER_STREAM_TYPE, version, [
    { ...event, type: decided.type, data: decided.data, schemaVersion: currentSchemaVersion(ORDER_STREAM_TYPE, decided.type) },
  ]);
  if (!stored.alreadyAppended) return { status: 'accepted', events, version: stored.nextExpectedVersion };
  return (await storedBefore(db, streamId, version, event.eventId))!;
}

/** The event an earlier attempt stored at `version + 1` under `eventId`, as that attempt answered it; undefined if none did. */
async function storedBefore(db: Queryable, streamId: string, version: number, eventId: string): Promise<PricedOrderCommandResult | undefined> {
  const [next] = await readStream(db, streamId, { fromVersion: version + 1, toVersion: version + 1 });
  if (next?.eventId !== eventId) return undefined;
  return { status: 'accepted', events: [{ type: next.type, data: next.data } as OrderEvent], version: next.version };
}
