import { PRODUCT_STREAM_TYPE, productStreamId } from '../domain/product';
import { stockStreamId, type StockLevels } from '../domain/stock';
import { type Queryable } from '../eventstore';
import { readAggregateState } from '../application/handleStateStoredCommand';

/*
 * The inventory: stock levels read from the stock aggregate's own state rows (state-stored, so a
 * row is current at every read), not from a projection. The catalog model carries the same levels
 * a moment later.
 */

export interface StockLevel {
  onHand: number;
  reserved: number;
  available: number;
}

export const stockLevel = (onHand: number, reserved: number): StockLevel => ({ onHand, reserved, available: onHand - reserved });

const PRODUCT_PREFIX = productStreamId('');
const STOCK_PREFIX = stockStreamId('');

/** The stock of a product as its state row says now; zero (version 0) when it was never stocked. */
export async function readStock(db: Queryable, productId: string): Promise<StockLevel & { version: number }> {
  const stored = await readAggregateState<StockLevels>(db, stockStreamId(productId));
  return stored ? { ...stockLevel(stored.state.onHand, stored.state.reserved), version: stored.version } : { ...stockLevel(0, 0), version: 0 };
}

/**
 * Every catalog product's stock, zero for those never stocked: the counters of each state row
 * (reservations are rows of their own). Unpaginated: fine while the catalog is small.
 */
export async function readAllStock(db: Queryable): Promise<Array<{ productId: string } & StockLevel & { version: number }>> {
  const { rows } = await db.query<{ product_id: string; on_hand: string; reserved: string; version: string }>(
    `SELECT substr(p.stream_id, length($1) + 1) AS product_id,
            COALESCE((a.state->>'onHand')::bigint, 0) AS on_hand,
            COALESCE((a.state->>'reserved')::bigint, 0) AS reserved,
            COALESCE(a.version, 0) AS version
       FROM streams p
       LEFT JOIN aggregate_states a ON a.stream_id = $2 || substr(p.stream_id, length($1) + 1)
      WHERE p.stream_type = $3
      ORDER BY product_id`,
    [PRODUCT_PREFIX, STOCK_PREFIX, PRODUCT_STREAM_TYPE],
  );
  return rows.map((r) => ({ productId: r.product_id, ...stockLevel(Number(r.on_hand), Number(r.reserved)), version: Number(r.version) }));
}
