import { ApplicationFailure, Context } from '@temporalio/activity';
import { DatabaseError } from 'pg';
import { findAcceptedCommand, type AcceptedCommandRecord } from '../application/orderRecord';
import { ORDER_STREAM_TYPE, type CatalogEntry } from '../domain/order';
import { WrongExpectedVersion, type EventData, type TransactionalDb } from '../eventstore';
import { appendToStream } from '../application/eventStore';
import { catalogEntries } from '../application/catalog';
import { decidePricedOrderCommand, type PricedOrderCommandInput, type PricedOrderCommandResult } from '../application/pricedOrderCommand';

export interface OrderActivities {
  /** Stores an accepted command's events on the order's stream; a retry with the same event ids is a no-op. */
  appendOrderEvents(input: { streamId: string; expectedVersion: number; events: EventData[] }): Promise<{ version: number }>;
  /**
   * AddItem or PlaceOrder in one step: priced at the catalog now, decided on the actor's state, its
   * event stored (decidePricedOrderCommand). A refusal is an answer, not a failure.
   */
  decidePricedOrderCommand(input: PricedOrderCommandInput): Promise<PricedOrderCommandResult>;
  /** The catalog's current name and price of a product, or null if the catalog does not know it. */
  lookUpProduct(productId: string): Promise<CatalogEntry | null>;
  /** The catalog's current entries of several products (checkout reprices every line). */
  lookUpProducts(productIds: string[]): Promise<Record<string, CatalogEntry | null>>;
  /**
   * What the order's stream says a command id did: the events it stored (their last version and
   * types), the fingerprint it was stored with, and the order's status right after it; null when
   * no event carries the id. The stream keeps every accepted id for good; the actor asks it for
   * keys its ledger has dropped.
   */
  findAcceptedCommand(input: { orderId: string; commandId: string }): Promise<AcceptedCommandRecord | null>;
}

/** The steps that write the order's stream: an actor being replaced must have none in flight. */
export const STREAM_WRITING_STEPS: ReadonlySet<string> = new Set(['appendOrderEvents', 'decidePricedOrderCommand'] satisfies Array<keyof OrderActivities>);

/** Data Postgres will never store (NUL in text, invalid Unicode): retrying cannot help. */
const UNSTORABLE_DATA = new Set(['22P05', '22021', '22P02']);

/** A step that writes the order's stream, with the failures retrying cannot fix marked so. */
async function writingTheStream<R>(write: () => Promise<R>): Promise<R> {
  try {
    return await write();
  } catch (err) {
    if (err instanceof WrongExpectedVersion) {
      // Only this order's actor writes its stream: a conflict is a bug, and retrying cannot fix it.
      throw ApplicationFailure.nonRetryable(err.message, 'WrongExpectedVersion', { expected: err.expected, actual: err.actual });
    }
    if (err instanceof DatabaseError && err.code && UNSTORABLE_DATA.has(err.code)) {
      // Otherwise the command would retry forever and every later command would wait behind it.
      throw ApplicationFailure.nonRetryable(`The command's data cannot be stored: ${err.message}`, 'UnstorableData');
    }
    throw err;
  }
}

/**
 * When this attempt's time is up, as far as the next attempt is concerned: its start-to-close
 * timeout counted from when it was scheduled (no later than it started), less a second for the
 * clocks of this worker and of whoever times it out (the server, for a regular attempt).
 */
function attemptDeadline(): number {
  const { currentAttemptScheduledTimestampMs, startToCloseTimeoutMs } = Context.current().info;
  return currentAttemptScheduledTimestampMs + startToCloseTimeoutMs - 1_000;
}

export function createOrderActivities(db: TransactionalDb): OrderActivities {
  return {
    appendOrderEvents: ({ streamId, expectedVersion, events }) =>
      writingTheStream(async () => ({ version: (await appendToStream(db, streamId, ORDER_STREAM_TYPE, expectedVersion, events)).nextExpectedVersion })),
    decidePricedOrderCommand: (input) => writingTheStream(() => decidePricedOrderCommand(db, input, { deadline: attemptDeadline() })),
    lookUpProduct: async (productId) => (await catalogEntries(db, [productId]))[productId] ?? null,
    lookUpProducts: (productIds) => catalogEntries(db, productIds),
    findAcceptedCommand: ({ orderId, commandId }) => findAcceptedCommand(db, orderId, commandId),
  };
}
