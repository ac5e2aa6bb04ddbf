import {
  ACCOUNT_SNAPSHOT_SCHEMA,
  ACCOUNT_STREAM_TYPE,
  accountStreams,
  evolveAccount,
  initialAccountState,
  type AccountEvent,
  type AccountState,
  type AccountTotals,
  type Payment,
} from '../domain/account';
import { evolveOrder, initialOrderState, ORDER_STREAM_TYPE, orderStreams, type OrderEvent, type OrderState } from '../domain/order';
import { accountPaymentRows } from '../application/accountPaymentRows';
import { readEventsOfType, readStreamsOfType, type Queryable } from '../eventstore';
import { aggregateIdOf, foldChecked, streamIdsOfType } from './streams';
import { ResultBuilder, sameJson, type InvariantFilter, type InvariantResult } from './types';
import { EntryFold } from '../application/keyedEntries';
import { eventSchemas } from '../domain/eventSchemas';

export const MONEY_INVARIANT = { id: '2', title: 'no balance below zero; debits − refunds = confirmed, not-cancelled orders; snapshots = fold' };

/** What one order means for its customer's money. */
interface OrderMoney {
  orderId: string;
  status: OrderState['status'];
  /** Cents the account should hold as paid for this order once nothing is running. */
  expectedCents: number;
  paymentId: string | null;
}

/** One customer's account movements per order. */
interface AccountMoney {
  netByOrder: Map<string, number>;
  /** paymentId → refunded? */
  payments: Map<string, { orderId: string; amountCents: number; refunded: boolean }>;
  net: number;
}

type OrderCreated = Extract<OrderEvent, { type: 'OrderCreated' }>['data'];

/** The OrderCreated events of `streamIds`, or of every order. */
const ordersCreated = (db: Queryable, streamIds?: readonly string[]) =>
  readEventsOfType(db, { streamType: ORDER_STREAM_TYPE, type: 'OrderCreated', streamIds, schemas: eventSchemas });

/**
 * Which customers to reconcile, and their order streams: every customer when there is no filter;
 * otherwise the filter's customers, the owners of its account streams and of its order streams.
 */
async function customersInScope(db: Queryable, filter: InvariantFilter): Promise<string[] | null> {
  if (!filter.streamIds && !filter.customerIds) return null;
  const customers = new Set(filter.customerIds ?? []);
  for (const id of streamIdsOfType(filter.streamIds, accountStreams) ?? []) customers.add(aggregateIdOf(accountStreams, id));
  const orderIds = streamIdsOfType(filter.streamIds, orderStreams) ?? [];
  if (orderIds.length > 0) {
    for await (const created of ordersCreated(db, orderIds)) {
      const { customerId } = created.data as OrderCreated;
      if (customerId) customers.add(customerId);
    }
  }
  return [...customers];
}

/** An account's snapshot as stored: its totals and its payment rows, at a version. */
async function readSnapshot(db: Queryable, streamId: string) {
  const { rows } = await db.query<{ version: string; schema_version: number; state: AccountTotals; payments: Array<[string, Payment]> }>(
    `SELECT s.version, s.schema_version, s.state,
            (SELECT COALESCE(json_agg(json_build_array(p.payment_id,
                      json_build_object('orderId', p.order_id, 'amountCents', p.amount_cents, 'refunded', p.refunded))), '[]')
               FROM account_payments p WHERE p.stream_id = s.stream_id) AS payments
       FROM stream_snapshots s WHERE s.stream_id = $1`,
    [streamId],
  );
  const row = rows[0];
  if (!row) return undefined;
  return { version: Number(row.version), schemaVersion: row.schema_version, state: { ...row.state, payments: Object.fromEntries(row.payments) } };
}

/**
 * Invariant 2: every account stream's fold keeps balance ≥ 0 after every event; its snapshot (the
 * totals and payment rows commands read instead of the stream) equals the fold at the snapshot's
 * version; and per customer,
 * debits − refunds on the account equal the totals of their confirmed, not-cancelled orders
 * (CheckoutSucceeded totalCents, unless OrderCancelled came after). Orders whose checkout is still
 * running (PLACED: the saga may have debited or refunded, the outcome is not recorded yet) are
 * left out of both sides and noted (invariant 6 checks that their checkout ends); so are
 * confirmed orders whose payment is already refunded (a cancellation compensating before it
 * records OrderCancelled).
 */
export async function checkMoney(db: Queryable, filter: InvariantFilter = {}): Promise<InvariantResult> {
  const result = new ResultBuilder(MONEY_INVARIANT.id, MONEY_INVARIANT.title);
  const customers = await customersInScope(db, filter);
  if (customers?.length === 0) return result.build();

  // The customers' orders (all orders when unfiltered), reduced to what matters for money.
  let orderStreamIds: string[] | undefined;
  if (customers) {
    const inScope = new Set(customers);
    const found = new Set<string>();
    for await (const created of ordersCreated(db)) {
      if (inScope.has((created.data as OrderCreated).customerId)) found.add(created.streamId);
    }
    orderStreamIds = [...found];
  }
  const ordersByCustomer = new Map<string, Map<string, OrderMoney>>();
  if (!orderStreamIds || orderStreamIds.length > 0) {
    for await (const stream of readStreamsOfType(db, ORDER_STREAM_TYPE, { streamIds: orderStreamIds, schemas: eventSchemas })) {
      const state = foldChecked<OrderState, OrderEvent>(initialOrderState, evolveOrder, stream.events);
      if (!state.customerId) continue; // no OrderCreated: invariant 3 / 4 territory
      const orderId = state.orderId ?? aggregateIdOf(orderStreams, stream.streamId);
      const paid = state.checkout !== null && state.status !== 'CANCELLED';
      const money: OrderMoney = {
        orderId,
        status: state.status,
        expectedCents: paid ? state.checkout!.amountCents : 0,
        paymentId: state.checkout?.paymentId ?? null,
      };
      const forCustomer = ordersByCustomer.get(state.customerId) ?? new Map<string, OrderMoney>();
      forCustomer.set(orderId, money);
      ordersByCustomer.set(state.customerId, forCustomer);
    }
  }

  // The accounts: balance never below zero, and the money per order.
  const accounts = new Map<string, AccountMoney>();
  const accountStreamIds = customers?.map(accountStreams.streamId);
  for await (const stream of readStreamsOfType(db, ACCOUNT_STREAM_TYPE, { streamIds: accountStreamIds, schemas: eventSchemas })) {
    result.checked();
    result.count('accounts');
    const customerId = aggregateIdOf(accountStreams, stream.streamId);
    const money: AccountMoney = { netByOrder: new Map(), payments: new Map(), net: 0 };
    let firstNegative: string | null = null;
    const snapshot = await readSnapshot(db, stream.streamId);
    let atSnapshot: AccountState | undefined;
    // One payment at a time: evolving the whole state would copy every payment per event.
    const fold = new EntryFold(accountPaymentRows, evolveAccount, accountPaymentRows.rootOf(initialAccountState), new Map());
    for (const e of stream.events) {
      fold.apply({ type: e.type, data: e.data } as AccountEvent);
      if (e.version === snapshot?.version) atSnapshot = fold.state;
      const { balanceCents } = fold.currentRoot as AccountTotals;
      if (firstNegative === null && balanceCents < 0) firstNegative = `at version ${e.version} (${e.type}) balance ${balanceCents}`;
      if (e.type === 'AccountDebited' || e.type === 'PaymentRefunded') {
        const { paymentId, orderId, amountCents } = e.data as { paymentId: string; orderId: string; amountCents: number };
        const signed = e.type === 'AccountDebited' ? amountCents : -amountCents;
        money.net += signed;
        money.netByOrder.set(orderId, (money.netByOrder.get(orderId) ?? 0) + signed);
        money.payments.set(paymentId, { orderId, amountCents, refunded: e.type === 'PaymentRefunded' });
      }
    }
    if (firstNegative !== null) result.violation(`${stream.streamId}: balance below zero ${firstNegative}`);
    if (snapshot && snapshot.schemaVersion !== ACCOUNT_SNAPSHOT_SCHEMA) {
      result.note(`${stream.streamId}: snapshot of schema ${snapshot.schemaVersion}, ignored until its next command rebuilds it`);
    } else if (snapshot && !atSnapshot) {
      result.violation(`${stream.streamId}: snapshot at version ${snapshot.version}, beyond the stream's ${stream.version}`);
    } else if (snapshot && !sameJson(snapshot.state, atSnapshot)) {
      result.violation(`${stream.streamId}: snapshot at version ${snapshot.version} disagrees with the fold of the stream`);
    }
    accounts.set(customerId, money);
  }

  const allCustomers = new Set<string>([...(customers ?? []), ...ordersByCustomer.keys(), ...accounts.keys()]);
  for (const customerId of allCustomers) {
    result.count('customers');
    const orders = ordersByCustomer.get(customerId) ?? new Map<string, OrderMoney>();
    const account: AccountMoney = accounts.get(customerId) ?? { netByOrder: new Map(), payments: new Map(), net: 0 };
    let accountNet = account.net;
    let expected = 0;
    const details: string[] = [];
    for (const order of orders.values()) {
      const paidOnAccount = account.netByOrder.get(order.orderId) ?? 0;
      if (order.status === 'PLACED') {
        // Whether its checkout will ever end is invariant 6's question (it asks Temporal).
        result.count('placed');
        result.note(
          `order ${order.orderId} (customer ${customerId}): PLACED, left out until its checkout's outcome is recorded; account holds ${paidOnAccount} cents for it`,
        );
        accountNet -= paidOnAccount;
        continue;
      }
      const payment = order.paymentId ? account.payments.get(order.paymentId) : undefined;
      if (order.status === 'CONFIRMED' && payment?.refunded) {
        result.count('cancelInFlight');
        result.note(`order ${order.orderId} (customer ${customerId}): CONFIRMED but payment ${order.paymentId} refunded: cancellation in flight`);
        accountNet -= paidOnAccount;
        continue;
      }
      expected += order.expectedCents;
      if (order.expectedCents > 0 && (!payment || payment.orderId !== order.orderId || payment.amountCents !== order.expectedCents)) {
        details.push(`order ${order.orderId} confirmed with payment ${order.paymentId} (${order.expectedCents} cents) not found on the account`);
      }
      if (paidOnAccount !== order.expectedCents) {
        details.push(`order ${order.orderId} (${order.status}): account net ${paidOnAccount} ≠ expected ${order.expectedCents}`);
      }
    }
    for (const [orderId, net] of account.netByOrder) {
      if (!orders.has(orderId) && net !== 0) details.push(`account net ${net} cents for order ${orderId}, which is not an order of this customer`);
    }
    if (accountNet !== expected || details.length > 0) {
      result.violation(
        `customer ${customerId}: debits − refunds = ${accountNet} ≠ confirmed orders ${expected}${details.length ? ` (${details.join('; ')})` : ''}`,
      );
    }
  }
  return result.build();
}
