import { evolveProduct, initialProductState, PRODUCT_STREAM_TYPE, productStreams, type ProductEvent, type ProductState } from '../domain/product';
import { evolveStock, STOCK_STREAM_TYPE, stockStreams, type StockEvent } from '../domain/stock';
import type { Queryable } from '../eventstore';
import { stockLevel, type StockLevel } from './inventory';
import { aggregateIdOf, asEvent, foldOnto } from './streamFold';
import type { Projection } from './types';

/** The `catalog` read model: its projection, and the products the API reads from it. */
export const CATALOG = 'catalog';

/** A row of the `catalog` read model (bigints arrive as strings). */
interface CatalogRow {
  product_id: string;
  product_exists: boolean;
  name: string;
  description: string;
  price_cents: string;
  product_version: string;
  on_hand: string;
  reserved: string;
  stock_version: string;
}

/** The product a row holds, as the product decider's state. */
function productStateOf(row: CatalogRow): ProductState {
  return row.product_exists
    ? { exists: true, productId: row.product_id, name: row.name, description: row.description, priceCents: Number(row.price_cents) }
    : initialProductState;
}

/**
 * The catalog with stock: product fields folded with the product decider's evolve, stock levels
 * with the stock decider's (without the reservations map: the levels never read it).
 */
export const catalogProjection: Projection = {
  name: CATALOG,
  streamTypes: [PRODUCT_STREAM_TYPE, STOCK_STREAM_TYPE],
  tables: ['catalog'],
  async applyStream(tx, events) {
    const isStock = events[0]!.streamType === STOCK_STREAM_TYPE;
    const productId = aggregateIdOf(isStock ? stockStreams : productStreams, events[0]!.streamId);
    await tx.query('INSERT INTO catalog (product_id) VALUES ($1) ON CONFLICT (product_id) DO NOTHING', [productId]);
    const { rows } = await tx.query<CatalogRow>('SELECT * FROM catalog WHERE product_id = $1 FOR UPDATE', [productId]);
    const row = rows[0]!;
    if (isStock) {
      const start = { onHand: Number(row.on_hand), reserved: Number(row.reserved), reservations: {} };
      const folded = await foldOnto(tx, events, Number(row.stock_version), start, (s, e) => evolveStock(s, asEvent<StockEvent>(e)));
      if (!folded) return;
      await tx.query('UPDATE catalog SET on_hand = $2, reserved = $3, stock_version = $4, updated_at = now() WHERE product_id = $1', [
        productId,
        folded.state.onHand,
        folded.state.reserved,
        folded.last.version,
      ]);
      return;
    }
    const folded = await foldOnto(tx, events, Number(row.product_version), productStateOf(row), (s, e) => evolveProduct(s, asEvent<ProductEvent>(e)));
    if (!folded) return;
    const product = folded.state;
    await tx.query(
      `UPDATE catalog SET product_exists = $2, name = $3, description = $4, price_cents = $5, product_version = $6, updated_at = now()
        WHERE product_id = $1`,
      [productId, product.exists, product.name, product.description, product.priceCents, folded.last.version],
    );
  },
};

/** A product as the API shows it, whether from this model, a command's answer or the stream's fold. */
export function productView(state: ProductState, version: number) {
  const { exists: _exists, ...product } = state;
  return { ...product, version };
}

export type CatalogProduct = ReturnType<typeof productView> & { stock: StockLevel };

const catalogProductOf = (row: CatalogRow): CatalogProduct => ({
  ...productView(productStateOf(row), Number(row.product_version)),
  stock: stockLevel(Number(row.on_hand), Number(row.reserved)),
});

/**
 * A product's catalog entry: the product (undefined while the model knows no such product) and the
 * versions of its product and stock streams the model has folded. Undefined without a row at all.
 */
export async function readCatalogEntry(
  db: Queryable,
  productId: string,
): Promise<{ product: CatalogProduct | undefined; version: number; stockVersion: number } | undefined> {
  const row = (await db.query<CatalogRow>('SELECT * FROM catalog WHERE product_id = $1', [productId])).rows[0];
  if (!row) return undefined;
  return { product: row.product_exists ? catalogProductOf(row) : undefined, version: Number(row.product_version), stockVersion: Number(row.stock_version) };
}

/** Every product of the catalog, by id. Unpaginated: fine while the catalog is small. */
export async function listCatalog(db: Queryable): Promise<CatalogProduct[]> {
  const { rows } = await db.query<CatalogRow>('SELECT * FROM catalog WHERE product_exists ORDER BY product_id');
  return rows.map(catalogProductOf);
}
