import { productDecider, productStreamId, type ProductState } from '../domain/product';
import { type Queryable } from '../eventstore';
import { readStream } from './eventStore';
import { foldRecorded } from './foldStream';

/** The product as its stream says now, or null when there is no such product. */
export async function findProduct(db: Queryable, productId: string): Promise<ProductState | null> {
  const state = foldRecorded(productDecider, await readStream(db, productStreamId(productId)));
  return state.exists ? state : null;
}
