import type { Client } from '@temporalio/client';
import { accountStreamId } from '../src/domain/account';
import { clientCommandId } from '../src/domain/commandIds';
import { orderDecider, type OrderState, orderStreamId } from '../src/domain/order';
import { productStreamId } from '../src/domain/product';
import { stockStreamId } from '../src/domain/stock';
import { type Queryable } from '../src/eventstore';
import { runInvariants, type InvariantFilter, type InvariantResult } from '../src/invariants';
import type { ShopperResult } from './customers';
import { readStream } from '../src/application/eventStore';
import { foldRecorded } from '../src/application/foldStream';

/** Where every order of the scenario ended, by the fold of its Postgres stream. */
export interface Settlement {
  /** CONFIRMED, or PENDING with a checkout failure (by code). */
  confirmed: number;
  failedBy: Record<string, number>;
  /** Orders in any other state when the wait ended: `order-x: PLACED`. */
  unsettled: string[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const isSettled = (s: OrderState) => s.status === 'CONFIRMED' || (s.status === 'PENDING' && s.lastCheckoutFailure !== null);

/** Waits (up to `timeoutMs`) until every order's checkout has an outcome on its stream. */
export async function settle(db: Queryable, orderIds: readonly string[], timeoutMs: number): Promise<Settlement> {
  const deadline = Date.now() + timeoutMs;
  const states = new Map<string, OrderState>();
  for (;;) {
    for (const orderId of orderIds) {
      if (states.has(orderId) && isSettled(states.get(orderId)!)) continue;
      states.set(orderId, foldRecorded(orderDecider, await readStream(db, orderStreamId(orderId))));
    }
    const open = orderIds.filter((id) => !isSettled(states.get(id)!));
    if (open.length === 0 || Date.now() > deadline) {
      const settlement: Settlement = { confirmed: 0, failedBy: {}, unsettled: open.map((id) => `${orderStreamId(id)}: ${states.get(id)!.status}`) };
      for (const state of states.values()) {
        if (state.status === 'CONFIRMED') settlement.confirmed += 1;
        else if (isSettled(state)) settlement.failedBy[state.lastCheckoutFailure!.code] = (settlement.failedBy[state.lastCheckoutFailure!.code] ?? 0) + 1;
      }
      return settlement;
    }
    await sleep(500);
  }
}

/**
 * Exactly one effect per Idempotency-Key, however often the client retried it: one order per
 * create key, one OrderItemAdded per accepted add key, one OrderPlaced per checkout key, at most
 * one debit per order (it was placed once), and no order of these customers that no key made.
 */
export async function duplicateEffects(db: Queryable, shoppers: readonly ShopperResult[]): Promise<string[]> {
  const problems: string[] = [];
  const streamIds = shoppers.map((s) => orderStreamId(s.orderId));
  const { rows: orderEvents } = await db.query<{ stream_id: string; type: string; command_id: string | null }>(
    `SELECT stream_id, type, metadata->>'commandId' AS command_id FROM events WHERE stream_id = ANY($1::text[])`,
    [streamIds],
  );
  const count = (streamId: string, type: string, commandId?: string) =>
    orderEvents.filter((e) => e.stream_id === streamId && e.type === type && (commandId === undefined || e.command_id === commandId)).length;
  const { rows: debits } = await db.query<{ order_id: string; n: string }>(
    `SELECT data->>'orderId' AS order_id, count(*) AS n FROM events
      WHERE type = 'AccountDebited' AND stream_id = ANY($1::text[]) GROUP BY 1`,
    [[...new Set(shoppers.map((s) => accountStreamId(s.customerId)))]],
  );
  const debitsByOrder = new Map(debits.map((d) => [d.order_id, Number(d.n)]));
  for (const shopper of shoppers) {
    const streamId = orderStreamId(shopper.orderId);
    const expect = (what: string, actual: number, wanted: number) => {
      if (actual !== wanted) problems.push(`${streamId}: ${actual} ${what}, expected ${wanted}`);
    };
    expect('OrderCreated', count(streamId, 'OrderCreated'), 1);
    // The actor stores a client's key in its namespace (src/domain/commandIds.ts).
    for (const add of shopper.adds)
      expect(`OrderItemAdded for key ${add.key}`, count(streamId, 'OrderItemAdded', clientCommandId(add.key)), add.status === 200 ? 1 : 0);
    if (shopper.outcome) expect('OrderPlaced', count(streamId, 'OrderPlaced'), 1);
    const debited = debitsByOrder.get(shopper.orderId) ?? 0;
    if (debited > 1) problems.push(`${streamId}: debited ${debited} times for one checkout`);
  }
  const { rows: created } = await db.query<{ customer_id: string; n: string }>(
    `SELECT data->>'customerId' AS customer_id, count(*) AS n FROM events
      WHERE type = 'OrderCreated' AND data->>'customerId' = ANY($1::text[]) GROUP BY 1`,
    [[...new Set(shoppers.map((s) => s.customerId))]],
  );
  for (const { customer_id: customerId, n } of created) {
    const keys = shoppers.filter((s) => s.customerId === customerId).length;
    if (Number(n) > keys) problems.push(`customer ${customerId}: ${n} orders created by ${keys} create keys`);
  }
  return problems;
}

/** The five invariants over this scenario's streams and customers only. */
export function scenarioInvariants(
  db: Queryable,
  client: Client,
  shoppers: readonly ShopperResult[],
  productIds: readonly string[],
): Promise<InvariantResult[]> {
  const customerIds = [...new Set(shoppers.map((s) => s.customerId))];
  const filter: InvariantFilter = {
    customerIds,
    streamIds: [
      ...shoppers.map((s) => orderStreamId(s.orderId)),
      ...customerIds.map(accountStreamId),
      ...productIds.flatMap((p) => [productStreamId(p), stockStreamId(p)]),
    ],
  };
  return runInvariants({ db, client, filter });
}
