import { randomUUID } from 'node:crypto';
import { createPool } from '../../src/db/pool';
import { ReadModelChanges } from '../../src/db/readModelChanges';
import { stockStreamId } from '../../src/domain/stock';
import { CATALOG } from '../../src/projections/catalog';
import { apiFor, createProduct, customer, expectProblem, statusAndBody, testEnv, uniqueId, useTestApi } from '../support/harness';
import { countingDb, eventually, startApiWith } from './appWith';

/*
 * `?minVersion` / `?minStockVersion` waits. A waiter subscribes to the projector's notifications
 * (LISTEN on one connection per feed), reads once more, then sleeps: no connection held and no
 * query sent until a batch touching its streams commits. Counts, not clocks: every assertion is
 * about queries, subscribers and answers.
 */

// A second, ordinary API: the admin's restocks, and a product read that waits for the model.
const shop = useTestApi();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** A long wait: a waiter in these tests ends by a wake-up or its client leaving, never by its time. */
const FOREVER_MS = 600_000;

async function productWithStock(): Promise<string> {
  const productId = await createProduct(shop.pool, 'Lamp', 1000);
  expect((await shop.admin.POST('/products/{productId}/stock', { params: { path: { productId } }, body: { quantity: 1 } })).response.status).toBe(200);
  expect(
    (await shop.admin.GET('/products/{productId}', { params: { path: { productId }, query: { minVersion: 1, minStockVersion: 1 } } })).response.status,
  ).toBe(200);
  return productId;
}

const restock = async (productId: string) =>
  expect((await shop.admin.POST('/products/{productId}/stock', { params: { path: { productId } }, body: { quantity: 1 } })).response.status).toBe(200);

test('300 anonymous waiters send no query while they wait, and one projector batch wakes them all to read once', async () => {
  const waiters = 300;
  const productId = await productWithStock();
  // A pool of its own with a patient deadline: a loaded test machine must not turn arrivals into 503s.
  const pool = createPool(testEnv.databaseUrl, 20, 30_000);
  const db = countingDb(pool);
  const changes = ReadModelChanges.forPool(pool);
  await changes.listen();
  const api = await startApiWith({
    db,
    client: shop.client,
    readModelChanges: changes,
    readWaitMs: FOREVER_MS,
    readWaitLimits: { maxWaiting: waiters, maxWaitingPerCaller: waiters },
  });
  try {
    const anonymous = apiFor(api.baseUrl, 'anonymous');
    const answers = Array.from({ length: waiters }, () =>
      anonymous.GET('/products/{productId}', { params: { path: { productId }, query: { minStockVersion: 2 } } }).then(
        ({ response, data }) => ({ status: response.status, onHand: data?.stock.onHand }),
        (err: Error) => ({ status: err.message, onHand: undefined }),
      ),
    );
    expect(await eventually(() => changes.subscribers === waiters, 60_000)).toBe(true);
    // Each has taken its rate-limit token and read twice: the model behind, then once more after subscribing (all counted when sent).
    const subscribed = db.queries;
    expect(subscribed).toBeLessThanOrEqual(3 * waiters);

    await sleep(1000); // the old loop sent 100 queries per waiter in this second
    expect(db.queries).toBe(subscribed);
    expect(changes.subscribers).toBe(waiters);
    // The pool is free for everyone else: readiness (one query) answers, and is ready.
    expect((await anonymous.GET('/readyz')).response.status).toBe(200);

    const beforeBatch = db.queries;
    await restock(productId); // one event, one catalog batch, one notification naming stock-<id>
    const answered = await Promise.all(answers);
    expect(answered.filter((a) => a.status !== 200)).toEqual([]);
    expect(new Set(answered.map((a) => a.onHand))).toEqual(new Set([2]));
    // The woken waiters of one row share one read.
    expect(db.queries - beforeBatch).toBe(1);
    expect(changes.subscribers).toBe(0);
  } finally {
    await api.close();
    await changes.close();
    await pool.end();
  }
}, 120_000);

test('past its bounds a wait is refused at once (429 for the caller, 503 for the process), and a client that leaves frees its place', async () => {
  const productId = await productWithStock();
  const changes = ReadModelChanges.forPool(shop.pool);
  const api = await startApiWith({
    db: shop.pool,
    client: shop.client,
    readModelChanges: changes,
    readWaitMs: FOREVER_MS,
    readWaitLimits: { maxWaiting: 4, maxWaitingPerCaller: 2 },
  });
  const leave = new AbortController();
  const read = (who: ReturnType<typeof customer>, minStockVersion = 1000, signal?: AbortSignal) =>
    apiFor(api.baseUrl, who).GET('/products/{productId}', { params: { path: { productId }, query: { minStockVersion } }, signal });
  const wait = (who: ReturnType<typeof customer>, signal = leave.signal) => read(who, 1000, signal).catch((err: Error) => err.name);
  const [alice, bob, carol] = ['alice', 'bob', 'carol'].map((name) => customer(uniqueId(name))) as [
    ReturnType<typeof customer>,
    ReturnType<typeof customer>,
    ReturnType<typeof customer>,
  ];
  try {
    const pending = [wait(alice), wait(alice)];
    expect(await eventually(() => changes.subscribers === 2)).toBe(true);
    const aliceAgain = await read(alice);
    expectProblem(aliceAgain, 429, 'TOO_MANY_READ_WAITS');
    expect(aliceAgain.response.headers.get('retry-after')).toBe('1');

    pending.push(wait(bob), wait(bob));
    expect(await eventually(() => changes.subscribers === 4)).toBe(true);
    const full = await read(carol);
    expectProblem(full, 503, 'READ_WAITS_EXHAUSTED');
    expect(full.response.headers.get('retry-after')).toBe('1');
    // Both refusals came while the four still waited: a refusal never waits for a place.
    expect(changes.subscribers).toBe(4);
    // A read the model already satisfies needs no place.
    expect((await read(carol, 1)).response.status).toBe(200);

    // The clients leave: their waits end now, not when their time is up.
    leave.abort();
    expect(await Promise.all(pending)).toEqual(['AbortError', 'AbortError', 'AbortError', 'AbortError']);
    expect(await eventually(() => changes.subscribers === 0)).toBe(true);
    const carolLeaves = new AbortController();
    const carolWaits = wait(carol, carolLeaves.signal);
    expect(await eventually(() => changes.subscribers === 1)).toBe(true);
    carolLeaves.abort();
    await carolWaits;
    expect(await eventually(() => changes.subscribers === 0)).toBe(true);
  } finally {
    leave.abort();
    await api.close();
    await changes.close();
  }
});

test('a model that stays behind is 504 READ_MODEL_BEHIND after three reads, not a poll, and leaves no subscriber', async () => {
  const productId = await productWithStock();
  const db = countingDb(shop.pool);
  const changes = ReadModelChanges.forPool(shop.pool);
  await changes.listen();
  const api = await startApiWith({ db, client: shop.client, readModelChanges: changes, readWaitMs: 300 });
  try {
    const res = await apiFor(api.baseUrl, 'anonymous').GET('/products/{productId}', { params: { path: { productId }, query: { minStockVersion: 1000 } } });
    expectProblem(res, 504, 'READ_MODEL_BEHIND');
    expect(res.response.headers.get('retry-after')).toBe('1');
    expect(res.error).toMatchObject({ minStockVersion: 1000, currentStockVersion: 1 });
    // The rate limit's token, the first read, the one after subscribing, and the last one when the time was up.
    expect(db.queries).toBe(4);
    expect(changes.subscribers).toBe(0);
  } finally {
    await api.close();
    await changes.close();
  }
});

test('a batch that commits while the waiter reads after subscribing still wakes it', async () => {
  const productId = await productWithStock();
  const db = countingDb(shop.pool);
  const changes = ReadModelChanges.forPool(shop.pool);
  await changes.listen();
  const api = await startApiWith({ db, client: shop.client, readModelChanges: changes, readWaitMs: FOREVER_MS });
  let catalogReads = 0;
  db.afterQuery = async (text) => {
    if (!text.includes('FROM catalog') || ++catalogReads !== 2) return;
    // The waiter's second read has its (stale) row. Before it sees it, the restock is projected
    // and its notification delivered: a waiter that subscribed only after this read would sleep.
    const delivered = new Promise<void>((resolve) => {
      const stop = changes.subscribe(CATALOG, [stockStreamId(productId)], () => {
        stop();
        resolve();
      });
    });
    await restock(productId);
    await delivered;
  };
  try {
    const res = await apiFor(api.baseUrl, 'anonymous').GET('/products/{productId}', { params: { path: { productId }, query: { minStockVersion: 2 } } });
    expect(res.response.status).toBe(200);
    expect(res.data!.stock.onHand).toBe(2);
    expect(catalogReads).toBe(3);
  } finally {
    await api.close();
    await changes.close();
  }
});

test('a listener that loses its connection reconnects and wakes its waiters: a batch committed meanwhile is not missed', async () => {
  const productId = await productWithStock();
  const applicationName = `listener-test-${randomUUID().slice(0, 8)}`;
  const changes = new ReadModelChanges({ connectionString: testEnv.databaseUrl, application_name: applicationName }, { reconnectMs: 3000 });
  await changes.listen();
  const api = await startApiWith({ db: shop.pool, client: shop.client, readModelChanges: changes, readWaitMs: FOREVER_MS });
  try {
    const anonymous = apiFor(api.baseUrl, 'anonymous');
    const answers = [1, 2, 3].map(() => anonymous.GET('/products/{productId}', { params: { path: { productId }, query: { minStockVersion: 2 } } }));
    expect(await eventually(() => changes.subscribers === 3)).toBe(true);
    await shop.pool.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [applicationName]);
    expect(await eventually(() => !changes.listening)).toBe(true);
    // Projected while nobody listens (unless the reconnect is quicker: then it is notified as usual).
    await restock(productId);
    const answered = await Promise.all(answers);
    expect(answered.map((a) => [a.response.status, a.data?.stock.onHand])).toEqual([
      [200, 2],
      [200, 2],
      [200, 2],
    ]);
    expect(changes.listening).toBe(true);
  } finally {
    await api.close();
    await changes.close();
  }
});

test('GET /accounts/:id and GET /orders/:id wait for their own streams too', async () => {
  const customerId = uniqueId('waiter');
  const as = customer(customerId);
  const changes = ReadModelChanges.forPool(shop.pool);
  const api = await startApiWith({ db: shop.pool, client: shop.client, readModelChanges: changes, readWaitMs: FOREVER_MS });
  try {
    const account = apiFor(api.baseUrl, as).GET('/accounts/{customerId}', { params: { path: { customerId }, query: { minVersion: 1 } } });
    expect(await eventually(() => changes.subscribers === 1)).toBe(true);
    expect((await shop.as(as).POST('/accounts/{customerId}/deposits', { params: { path: { customerId } }, body: { amountCents: 700 } })).response.status).toBe(
      200,
    );
    expect(statusAndBody(await account)).toMatchObject({ status: 200, body: { balanceCents: 700 } });

    const created = await shop.as(as).POST('/orders', { body: {} });
    expect(created.response.status).toBe(201);
    const { orderId } = created.data!;
    const order = apiFor(api.baseUrl, as).GET('/orders/{orderId}', { params: { path: { orderId }, query: { minVersion: 2 } } });
    expect(await eventually(() => changes.subscribers === 1)).toBe(true);
    const productId = await productWithStock();
    expect((await shop.as(as).POST('/orders/{orderId}/items', { params: { path: { orderId } }, body: { productId, quantity: 1 } })).response.status).toBe(200);
    expect(statusAndBody(await order)).toMatchObject({ status: 200, body: { orderId, version: 2 } });
  } finally {
    await api.close();
    await changes.close();
  }
});
