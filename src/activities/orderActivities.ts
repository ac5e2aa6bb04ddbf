import { ApplicationFailure } from '@temporalio/activity';
import { appendToStream, WrongExpectedVersion, type EventData, type Queryable } from '../eventstore';
import { findProduct } from './catalogLookup';

export interface OrderActivities {
  /** Stores an accepted command's events on the order's stream; a retry with the same event ids is a no-op. */
  appendOrderEvents(input: { streamId: string; expectedVersion: number; events: EventData[] }): Promise<{ version: number }>;
  /** The catalog's current name and price of a product, or null if the catalog does not know it. */
  lookUpProduct(productId: string): Promise<{ name: string; unitPriceCents: number } | null>;
}

export function createOrderActivities(db: Queryable): OrderActivities {
  return {
    async appendOrderEvents({ streamId, expectedVersion, events }) {
      try {
        const result = await appendToStream(db, streamId, 'order', expectedVersion, events);
        return { version: result.nextExpectedVersion };
      } catch (err) {
        if (err instanceof WrongExpectedVersion) {
          // Only this order's actor writes its stream: a conflict is a bug, and retrying cannot fix it.
          throw ApplicationFailure.nonRetryable(err.message, 'WrongExpectedVersion', { expected: err.expected, actual: err.actual });
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
