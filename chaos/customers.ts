import { idFromIdempotencyKey } from '../src/api/requestContext';
import type { OrderStatus } from '../src/domain/order';
import type { Answer, Call, PatientClient, RequestOptions } from './client';

/**
 * The load: a shop with scarce stock and customers with scarce funds, and one virtual customer
 * per order who creates it, adds 1–2 items and checks out, concurrently with everyone else.
 * Several orders share one customer's account, so they also compete for the same money.
 */

export interface ShopPlan {
  /** Prefixes every id, so several runs can share one database. */
  tag: string;
  products: Array<{ name: string; priceCents: number; units: number }>;
  customers: Array<{ customerId: string; balanceCents: number }>;
  /** `orderId` is the id the API derives from the customer and the create's key (`<label>-create`). */
  orders: Array<{ label: string; orderId: string; customerId: string; lines: Array<{ product: number; quantity: number }> }>;
}

const ORDERS_PER_CUSTOMER = 4;
const address = { name: 'Chaos Customer', line1: '1 Fault Lane', city: 'Springfield', postalCode: '12345', country: 'US' };

/** A small seeded PRNG (mulberry32): the same seed plans the same shop. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Stock for about 60% of what the orders ask of each product, and funds for one to three average
 * orders per customer against four orders each: some checkouts fail on stock, some on funds.
 */
export function planShop(tag: string, orderCount: number, seed: number): ShopPlan {
  const random = seededRandom(seed);
  const between = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const products = Array.from({ length: Math.max(2, Math.ceil(orderCount / 25)) }, (_, i) => ({
    name: `Chaos item ${i + 1}`,
    priceCents: between(5, 30) * 100,
    units: 0,
  }));
  const customers = Array.from({ length: Math.ceil(orderCount / ORDERS_PER_CUSTOMER) }, (_, i) => ({ customerId: `${tag}-c${i + 1}`, balanceCents: 0 }));
  const orders = Array.from({ length: orderCount }, (_, i) => {
    const first = between(0, products.length - 1);
    const lines = [{ product: first, quantity: between(1, 2) }];
    if (random() < 0.5) lines.push({ product: (first + between(1, products.length - 1)) % products.length, quantity: between(1, 2) });
    const label = `${tag}-o${i + 1}`;
    const customerId = customers[i % customers.length]!.customerId;
    return { label, orderId: idFromIdempotencyKey(`order:${customerId}`, `${label}-create`), customerId, lines };
  });
  const demand = products.map(() => 0);
  let totalCents = 0;
  for (const order of orders) {
    for (const line of order.lines) {
      demand[line.product]! += line.quantity;
      totalCents += line.quantity * products[line.product]!.priceCents;
    }
  }
  products.forEach((p, i) => (p.units = Math.max(1, Math.round(demand[i]! * 0.6))));
  const averageOrder = totalCents / orders.length;
  for (const c of customers) c.balanceCents = Math.round(averageOrder * (1 + random() * 2));
  return { tag, products, customers, orders };
}

export interface Seeded {
  productIds: string[];
  plan: ShopPlan;
}

/**
 * Creates the products, their stock and the customers' funds, before any fault: the scenario
 * measures checkouts. Every call has its Idempotency-Key, so a retry still acts once.
 */
export async function seedShop(client: PatientClient, plan: ShopPlan, tokens: { admin: string; customer: (id: string) => string }): Promise<Seeded> {
  const productIds: string[] = [];
  for (const [i, product] of plan.products.entries()) {
    const created = await client.request({ token: tokens.admin, key: `${plan.tag}-p${i + 1}`, route: 'POST /products' }, (api, init) =>
      api.POST('/products', { ...init, body: { name: product.name, priceCents: product.priceCents } }),
    );
    if (!created.data) throw new Error(`seeding: POST /products answered ${created.status} ${JSON.stringify(created.error)}`);
    const productId = created.data.productId;
    const stocked = await client.request({ token: tokens.admin, key: `${productId}-seed`, route: 'POST /products/{productId}/stock' }, (api, init) =>
      api.POST('/products/{productId}/stock', { ...init, params: { path: { productId } }, body: { quantity: product.units } }),
    );
    if (stocked.status !== 200) throw new Error(`seeding: restock answered ${stocked.status} ${JSON.stringify(stocked.error)}`);
    productIds.push(productId);
  }
  for (const { customerId, balanceCents } of plan.customers) {
    const deposited = await client.request(
      { token: tokens.customer(customerId), key: `${customerId}-seed`, route: 'POST /accounts/{customerId}/deposits' },
      (api, init) => api.POST('/accounts/{customerId}/deposits', { ...init, params: { path: { customerId } }, body: { amountCents: balanceCents } }),
    );
    if (deposited.status !== 200) throw new Error(`seeding: deposit answered ${deposited.status} ${JSON.stringify(deposited.error)}`);
  }
  return { productIds, plan };
}

/** What one virtual customer sent and what it finally heard. */
export interface ShopperResult {
  orderId: string;
  customerId: string;
  createKey: string;
  /** Each AddItem's key and the final status it got. */
  adds: Array<{ key: string; status: number }>;
  checkoutKey: string;
  /** The order's status in the checkout's final answer (CONFIRMED, PENDING), if it got one. */
  outcome?: OrderStatus;
  failureCode?: string;
  /** Why it has no outcome: a non-2xx final answer, or no final answer at all. */
  error?: string;
  /** From its first request (the create) to the checkout's outcome, when it got one. */
  waitedMs?: number;
}

export interface LoadProgress {
  readonly orders: number;
  created: number;
  /** Checkouts answered with an outcome. */
  settled: number;
  /** Virtual customers done, with an outcome or without (gave up, refused). */
  finished: number;
  /** Requests sent and not yet answered: an API kill needs some. */
  inFlight: number;
  /** When each checkout outcome arrived (ms since epoch). */
  readonly outcomeTimes: number[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** How long a virtual customer keeps asking for a checkout's outcome (202s) before giving up. */
const CHECKOUT_PATIENCE_MS = 300_000;

/** Starts every virtual customer at once; resolves when all have a final answer or gave up. */
export function runShoppers(
  client: PatientClient,
  seeded: Seeded,
  token: (customerId: string) => string,
): { progress: LoadProgress; done: Promise<ShopperResult[]> } {
  const progress: LoadProgress = { orders: seeded.plan.orders.length, created: 0, settled: 0, finished: 0, inFlight: 0, outcomeTimes: [] };
  async function send<D, E>(options: RequestOptions, call: Call<D, E>): Promise<Answer<D, E>> {
    progress.inFlight += 1;
    try {
      return await client.request(options, call);
    } finally {
      progress.inFlight -= 1;
    }
  }

  /** Each virtual customer has a home API (round robin), which its requests leave only when it refuses or cuts them. */
  async function shop(order: ShopPlan['orders'][number], index: number): Promise<ShopperResult> {
    const startedAt = Date.now();
    const result: ShopperResult = {
      orderId: order.orderId,
      customerId: order.customerId,
      createKey: `${order.label}-create`,
      adds: [],
      checkoutKey: `${order.label}-checkout`,
    };
    const auth = token(order.customerId);
    const home = { token: auth, api: index };
    try {
      const created = await send({ ...home, key: result.createKey, route: 'POST /orders' }, (api, init) =>
        // A customer does not name the order: the id follows from the key, so a retried create names the same one.
        api.POST('/orders', { ...init, body: { customerId: order.customerId, shippingAddress: address } }),
      );
      if (!created.data) throw new Error(`create answered ${created.status} ${created.error?.code ?? ''}`);
      if (created.data.orderId !== order.orderId) throw new Error(`create named order ${created.data.orderId}, not the derived ${order.orderId}`);
      progress.created += 1;
      for (const [i, line] of order.lines.entries()) {
        const key = `${order.label}-add-${i + 1}`;
        const added = await send({ ...home, key, route: 'POST /orders/{orderId}/items' }, (api, init) =>
          api.POST('/orders/{orderId}/items', {
            ...init,
            params: { path: { orderId: result.orderId } },
            body: { productId: seeded.productIds[line.product]!, quantity: line.quantity },
          }),
        );
        result.adds.push({ key, status: added.status });
      }
      // 202 means the saga had not settled within the wait: ask again with the same key, which
      // places nothing new (the actor's ledger answers it) and waits again.
      for (const giveUpAt = Date.now() + CHECKOUT_PATIENCE_MS; ;) {
        const answer = await send({ ...home, key: result.checkoutKey, route: 'POST /orders/{orderId}/checkout' }, (api, init) =>
          api.POST('/orders/{orderId}/checkout', { ...init, params: { path: { orderId: result.orderId }, query: { wait: 'true', timeout: 20 } } }),
        );
        if (answer.status === 202) {
          if (Date.now() > giveUpAt) throw new Error(`checkout still PLACED after ${CHECKOUT_PATIENCE_MS / 1000} s`);
          await sleep(200);
          continue;
        }
        if (answer.status !== 200 || !answer.data) throw new Error(`checkout answered ${answer.status} ${answer.error?.code ?? ''}`);
        // With ?wait=true the answer is the order, which the contract does not describe yet.
        const settled = answer.data as { status: OrderStatus; lastCheckoutFailure?: { code?: string } };
        result.outcome = settled.status;
        result.failureCode = settled.lastCheckoutFailure?.code;
        progress.settled += 1;
        progress.outcomeTimes.push(Date.now());
        result.waitedMs = Date.now() - startedAt;
        return result;
      }
    } catch (err) {
      result.error = (err as Error).message;
      return result;
    } finally {
      progress.finished += 1;
    }
  }

  return { progress, done: Promise.all(seeded.plan.orders.map((order, i) => shop(order, i))) };
}
