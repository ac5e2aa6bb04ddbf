import { evolveAccount, initialAccountState, ACCOUNT_STREAM_TYPE, type AccountEvent } from '../domain/account';
import { evolveOrder, initialOrderState, type OrderEvent, type OrderState } from '../domain/order';
import { evolveProduct, initialProductState, type ProductEvent, type ProductState } from '../domain/product';
import { evolveStock, STOCK_STREAM_TYPE, type StockEvent } from '../domain/stock';
import { type Queryable, type RecordedEvent } from '../eventstore';
import type { Projection } from './types';
import { readStream } from '../application/eventStore';

/**
 * The events of `event`'s stream that a model at `modelVersion` has not folded yet, in version
 * order, up to and including `event`. readAll goes by writer transaction, so a stream's version
 * N+1 can arrive before its version N; the model's version makes each event count once anyway:
 * an event at or below it is already folded, and a gap is filled from the stream itself.
 */
export async function unfolded(tx: Queryable, event: RecordedEvent, modelVersion: number): Promise<RecordedEvent[]> {
  if (event.version <= modelVersion) return [];
  if (event.version === modelVersion + 1) return [event];
  const missing = await readStream(tx, event.streamId, { fromVersion: modelVersion + 1, toVersion: event.version });
  if (missing.length !== event.version - modelVersion) {
    throw new Error(`Stream ${event.streamId} has ${missing.length} events from version ${modelVersion + 1} to ${event.version}`);
  }
  return missing;
}

/**
 * Folds one stream's events of a batch onto a model at `modelVersion`, each event once (see
 * `unfolded`), so the model is read and written once per batch. Undefined when it had them all.
 */
async function foldOnto<S>(
  tx: Queryable,
  events: readonly RecordedEvent[],
  modelVersion: number,
  start: S,
  evolve: (state: S, event: RecordedEvent) => S,
): Promise<{ state: S; first: RecordedEvent; last: RecordedEvent } | undefined> {
  let state = start;
  let version = modelVersion;
  let first: RecordedEvent | undefined;
  let last: RecordedEvent | undefined;
  for (const event of events) {
    for (const e of await unfolded(tx, event, version)) {
      state = evolve(state, e);
      first ??= e;
      last = e;
      version = e.version;
    }
  }
  return first && last ? { state, first, last } : undefined;
}

const suffix = (streamId: string, prefix: string) => (streamId.startsWith(prefix) ? streamId.slice(prefix.length) : streamId);
const asEvent = <E>(e: RecordedEvent) => ({ type: e.type, data: e.data }) as E;

export const ORDER_SUMMARY = 'order_summary';
export const ACCOUNT_SUMMARY = 'account_summary';
export const CATALOG = 'catalog';

/** One row per order: the order decider's fold of its stream, the same fold the actor runs. */
export const orderSummaryProjection: Projection = {
  name: ORDER_SUMMARY,
  streamTypes: ['order'],
  tables: ['order_summary'],
  async applyStream(tx, events) {
    const orderId = suffix(events[0]!.streamId, 'order-');
    const { rows } = await tx.query<{ state: OrderState; version: string; created_at: Date }>(
      'SELECT state, version, created_at FROM order_summary WHERE order_id = $1 FOR UPDATE',
      [orderId],
    );
    const current = rows[0];
    const folded = await foldOnto(tx, events, current ? Number(current.version) : 0, current?.state ?? initialOrderState, (s, e) =>
      evolveOrder(s, asEvent<OrderEvent>(e)),
    );
    if (!folded) return;
    const { state, first, last } = folded;
    const createdAt = current?.created_at ?? first.occurredAt;
    await tx.query(
      `INSERT INTO order_summary (order_id, customer_id, status, items, total_cents, version, created_at, updated_at, last_checkout_failure, state)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       ON CONFLICT (order_id) DO UPDATE SET
         customer_id = EXCLUDED.customer_id, status = EXCLUDED.status, items = EXCLUDED.items,
         total_cents = EXCLUDED.total_cents, version = EXCLUDED.version, updated_at = EXCLUDED.updated_at,
         last_checkout_failure = EXCLUDED.last_checkout_failure, state = EXCLUDED.state`,
      [
        orderId,
        state.customerId ?? '',
        state.status,
        JSON.stringify(state.items),
        state.totalCents,
        last.version,
        createdAt,
        last.occurredAt,
        state.lastCheckoutFailure === null ? null : JSON.stringify(state.lastCheckoutFailure),
        JSON.stringify(state),
      ],
    );
  },
};

/**
 * A wallet's counters, folded with the account decider's evolve. The payments map is not kept:
 * no counter depends on it, and the write side has it.
 */
/** A row of the `account_summary` read model (bigints arrive as strings). */
export interface AccountSummaryRow {
  customer_id: string;
  balance_cents: string;
  total_deposits_cents: string;
  total_withdrawals_cents: string;
  transaction_count: number;
  version: string;
}

export const accountSummaryProjection: Projection = {
  name: ACCOUNT_SUMMARY,
  streamTypes: [ACCOUNT_STREAM_TYPE],
  tables: ['account_summary'],
  async applyStream(tx, events) {
    const customerId = suffix(events[0]!.streamId, 'account-');
    const { rows } = await tx.query<AccountSummaryRow>('SELECT * FROM account_summary WHERE customer_id = $1 FOR UPDATE', [customerId]);
    const row = rows[0];
    const start = row
      ? {
          ...initialAccountState,
          customerId,
          balanceCents: Number(row.balance_cents),
          totalDepositsCents: Number(row.total_deposits_cents),
          totalWithdrawalsCents: Number(row.total_withdrawals_cents),
          transactionCount: row.transaction_count,
        }
      : initialAccountState;
    const folded = await foldOnto(tx, events, row ? Number(row.version) : 0, start, (s, e) => evolveAccount(s, asEvent<AccountEvent>(e)));
    if (!folded) return;
    const { state, last } = folded;
    await tx.query(
      `INSERT INTO account_summary (customer_id, balance_cents, total_deposits_cents, total_withdrawals_cents, transaction_count, version, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (customer_id) DO UPDATE SET
         balance_cents = EXCLUDED.balance_cents, total_deposits_cents = EXCLUDED.total_deposits_cents,
         total_withdrawals_cents = EXCLUDED.total_withdrawals_cents, transaction_count = EXCLUDED.transaction_count,
         version = EXCLUDED.version, updated_at = EXCLUDED.updated_at`,
      [customerId, state.balanceCents, state.totalDepositsCents, state.totalWithdrawalsCents, state.transactionCount, last.version, last.occurredAt],
    );
  },
};

/** A row of the `catalog` read model (bigints arrive as strings). */
export interface CatalogRow {
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

/**
 * The catalog with stock: product fields folded with the product decider's evolve, stock levels
 * with the stock decider's (without the reservations map: the levels never read it).
 */
export const catalogProjection: Projection = {
  name: CATALOG,
  streamTypes: ['product', STOCK_STREAM_TYPE],
  tables: ['catalog'],
  async applyStream(tx, events) {
    const isStock = events[0]!.streamType === STOCK_STREAM_TYPE;
    const productId = suffix(events[0]!.streamId, isStock ? 'stock-' : 'product-');
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
    const start: ProductState = row.product_exists
      ? { exists: true, productId, name: row.name, description: row.description, priceCents: Number(row.price_cents) }
      : initialProductState;
    const folded = await foldOnto(tx, events, Number(row.product_version), start, (s, e) => evolveProduct(s, asEvent<ProductEvent>(e)));
    if (!folded) return;
    const product = folded.state;
    await tx.query(
      `UPDATE catalog SET product_exists = $2, name = $3, description = $4, price_cents = $5, product_version = $6, updated_at = now()
        WHERE product_id = $1`,
      [productId, product.exists, product.name, product.description, product.priceCents, folded.last.version],
    );
  },
};
