import { productDecider, productStreamId, type ProductState } from '../domain/product';
import type { CatalogEntry } from '../domain/order';
import { type Queryable } from '../eventstore';
import { foldStream } from './eventStore';

/** The product as its stream says now, or null when there is no such product. */
export async function findProduct(db: Queryable, productId: string): Promise<ProductState | null> {
  const { state } = await foldStream(db, productStreamId(productId), productDecider);
  return state.exists ? state : null;
}

/** What an order is priced at: each product's current name and price, null for one the catalog does not know. */
export async function catalogEntries(db: Queryable, productIds: readonly string[]): Promise<Record<string, CatalogEntry | null>> {
  const entries = await Promise.all(
    [...new Set(productIds)].map(async (id) => {
      const product = await findProduct(db, id);
      return [id, product ? { name: product.name, unitPriceCents: product.priceCents } : null] as const;
    }),
  );
  return Object.fromEntries(entries);
}
