import { productDecider, productStreamId, type ProductState } from '../domain/product';
import { type Queryable } from '../eventstore';
import { foldStream } from './eventStore';

/** The product as its stream says now, or null when there is no such product. */
export async function findProduct(db: Queryable, productId: string): Promise<ProductState | null> {
  const { state } = await foldStream(db, productStreamId(productId), productDecider);
  return state.exists ? state : null;
}
