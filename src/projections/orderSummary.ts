import { evolveOrder, initialOrderState, ORDER_STREAM_TYPE, orderStreams, type OrderEvent, type OrderState, type OrderStatus } from '../domain/order';
import type { Queryable } from '../eventstore';
import { aggregateIdOf, asEvent, foldOnto } from './streamFold';
import type { Projection } from './types';

/** The `order_summary` read model: its projection, and what the API reads from it. */
export const ORDER_SUMMARY = 'order_summary';

/** One row per order: the order decider's fold of its stream, the same fold the actor runs. */
export const orderSummaryProjection: Projection = {
  name: ORDER_SUMMARY,
  streamTypes: [ORDER_STREAM_TYPE],
  tables: ['order_summary'],
  async applyStream(tx, events) {
    const orderId = aggregateIdOf(orderStreams, events[0]!.streamId);
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

/** The order as the model has folded it, at the version it folded; undefined before its first event is projected. */
export async function readOrderSummary(db: Queryable, orderId: string): Promise<{ state: OrderState; version: number } | undefined> {
  const { rows } = await db.query<{ state: OrderState; version: string }>('SELECT state, version FROM order_summary WHERE order_id = $1', [orderId]);
  const row = rows[0];
  return row ? { state: row.state, version: Number(row.version) } : undefined;
}

/** Where a page of a customer's orders ends: its last order's creation instant (ISO) and id. */
export interface OrderListPosition {
  createdAt: string;
  orderId: string;
}

/** One order in a customer's list. */
export interface OrderListItem {
  orderId: string;
  status: OrderStatus;
  items: OrderState['items'];
  totalCents: number;
  version: number;
  createdAt: string;
  updatedAt: string;
  lastCheckoutFailure: OrderState['lastCheckoutFailure'];
}

/**
 * A page of a customer's orders, newest first, optionally of one status, after `after` (keyset
 * over (created_at, order_id): stable while orders change). `next` is where the following page
 * starts, or null on the last page.
 */
export async function listCustomerOrders(
  db: Queryable,
  customerId: string,
  page: { status?: OrderStatus; limit: number; after?: OrderListPosition },
): Promise<{ orders: OrderListItem[]; next: OrderListPosition | null }> {
  const { orders, next } = await searchOrders(db, { customerId, status: page.status }, page);
  return { orders: orders.map(({ customerId: _customer, ...order }) => order), next };
}

/** What an operator looks for among all orders: any of a customer, a status, a creation window (`from` inclusive, `to` exclusive). */
export interface OrderSearch {
  customerId?: string;
  status?: OrderStatus;
  from?: string;
  to?: string;
}

/**
 * A page of every customer's orders, newest first, keyset-paged like `listCustomerOrders`: the
 * operator's search. `next` is where the following page starts, or null on the last page.
 */
export async function searchOrders(
  db: Queryable,
  search: OrderSearch,
  page: { limit: number; after?: OrderListPosition },
): Promise<{ orders: Array<OrderListItem & { customerId: string }>; next: OrderListPosition | null }> {
  const { rows } = await db.query<{
    order_id: string;
    customer_id: string;
    status: OrderStatus;
    items: OrderState['items'];
    total_cents: string;
    version: string;
    created_at: Date;
    updated_at: Date;
    last_checkout_failure: OrderState['lastCheckoutFailure'];
  }>(
    `SELECT order_id, customer_id, status, items, total_cents, version, created_at, updated_at, last_checkout_failure
       FROM order_summary
      WHERE ($1::text IS NULL OR customer_id = $1)
        AND ($2::text IS NULL OR status = $2)
        AND ($3::timestamptz IS NULL OR created_at >= $3)
        AND ($4::timestamptz IS NULL OR created_at < $4)
        AND ($5::timestamptz IS NULL OR (created_at, order_id) < ($5::timestamptz, $6::text))
      ORDER BY created_at DESC, order_id DESC
      LIMIT $7`,
    [
      search.customerId ?? null,
      search.status ?? null,
      search.from ?? null,
      search.to ?? null,
      page.after?.createdAt ?? null,
      page.after?.orderId ?? null,
      page.limit + 1,
    ],
  );
  const orders = rows.slice(0, page.limit).map((r) => ({
    orderId: r.order_id,
    customerId: r.customer_id,
    status: r.status,
    items: r.items,
    totalCents: Number(r.total_cents),
    version: Number(r.version),
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    lastCheckoutFailure: r.last_checkout_failure,
  }));
  const last = orders[orders.length - 1];
  return { orders, next: rows.length > page.limit && last ? { createdAt: last.createdAt, orderId: last.orderId } : null };
}
