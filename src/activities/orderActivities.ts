import { ApplicationFailure } from '@temporalio/activity';
import { DatabaseError } from 'pg';
import { findAcceptedCommand, type AcceptedCommandRecord } from '../application/orderRecord';
import { ORDER_STREAM_TYPE, type CatalogEntry } from '../domain/order';
import { WrongExpectedVersion, type EventData, type Queryable } from '../eventstore';
import { appendToStream } from '../application/eventStore';
import { findProduct } from '../application/catalog';

export interface OrderActivities {
  /** Stores an accepted command's events on the order's stream; a retry with the same event ids is a no-op. */
  appendOrderEvents(input: { streamId: string; expectedVersion: number; events: EventData[] }): Promise<{ version: number }>;
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

/** Data Postgres will never store (NUL in text, invalid Unicode): retrying cannot help. */
const UNSTORABLE_DATA = new Set(['22P05', '22021', '22P02']);

async function catalogEntry(db: Queryable, productId: string): Promise<CatalogEntry | null> {
  const product = await findProduct(db, productId);
  return product ? { name: product.name, unitPriceCents: product.priceCents } : null;
}

export function createOrderActivities(db: Queryable): OrderActivities {
  return {
    async appendOrderEvents({ streamId, expectedVersion, events }) {
      try {
        const result = await appendToStream(db, streamId, ORDER_STREAM_TYPE, expectedVersion, events);
        return { version: result.nextExpectedVersion };
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
    },
    lookUpProduct: (productId) => catalogEntry(db, productId),
    async lookUpProducts(productIds) {
      const entries = await Promise.all(productIds.map(async (id) => [id, await catalogEntry(db, id)] as const));
      return Object.fromEntries(entries);
    },
    findAcceptedCommand: ({ orderId, commandId }) => findAcceptedCommand(db, orderId, commandId),
  };
}
