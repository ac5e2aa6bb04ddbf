import { ApplicationFailure } from '@temporalio/activity';
import { DatabaseError } from 'pg';
import { ORDER_STREAM_TYPE } from '../domain/order';
import { appendToStream, WrongExpectedVersion, type EventData, type Queryable } from '../eventstore';
import { findProduct } from './catalogLookup';

export interface OrderActivities {
  /** Stores an accepted command's events on the order's stream; a retry with the same event ids is a no-op. */
  appendOrderEvents(input: { streamId: string; expectedVersion: number; events: EventData[] }): Promise<{ version: number }>;
  /** The catalog's current name and price of a product, or null if the catalog does not know it. */
  lookUpProduct(productId: string): Promise<{ name: string; unitPriceCents: number } | null>;
}

/** Data Postgres will never store (NUL in text, invalid Unicode): retrying cannot help. */
const UNSTORABLE_DATA = new Set(['22P05', '22021', '22P02']);

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
    async lookUpProduct(productId) {
      const product = await findProduct(db, productId);
      return product ? { name: product.name, unitPriceCents: product.priceCents } : null;
    },
  };
}
