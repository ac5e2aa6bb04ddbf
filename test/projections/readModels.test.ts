import { randomUUID } from 'node:crypto';
import { accountDecider, accountStreamId } from '../../src/domain/account';
import { orderDecider } from '../../src/domain/order';
import { productDecider, productStreamId } from '../../src/domain/product';
import { stockDecider, stockStreamId } from '../../src/domain/stock';
import { deliverNotification } from '../../src/projections';
import { apiFor, startTestApi, statusAndBody, uniqueId, useTestApi, versionAfter } from '../support/harness';
import { sampleAddress } from '../support/orders';
import { readStream } from '../../src/application/eventStore';
import { foldRecorded } from '../../src/application/foldStream';

/*
 * The real read models, fed by the projector the test run's worker process runs, through the real
 * API and the real order workflow. Each model row is compared with the fold of its own stream.
 */

const app = useTestApi({ poolSize: 20 });
const { rawCall } = app;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function product(name: string, priceCents: number, units: number): Promise<string> {
  const created = await app.admin.POST('/products', { body: { name, priceCents } });
  expect(created.response.status).toBe(201);
  if (units > 0)
    expect(
      (await app.admin.POST('/products/{productId}/stock', { params: { path: { productId: created.data!.productId } }, body: { quantity: units } })).response
        .status,
    ).toBe(200);
  return created.data!.productId;
}

async function order(customerId: string, lines: Array<[string, number]>): Promise<{ orderId: string; version: number }> {
  const orderId = uniqueId('rm-order');
  const created = await app.admin.POST('/orders', { body: { orderId, customerId, shippingAddress: sampleAddress } });
  expect(created.response.status).toBe(201);
  let version = created.data!.version;
  for (const [productId, quantity] of lines) {
    const added = await app.admin.POST('/orders/{orderId}/items', { params: { path: { orderId } }, body: { productId, quantity } });
    expect(added.response.status).toBe(200);
    version = versionAfter(added);
  }
  return { orderId, version };
}

async function checkout(orderId: string): Promise<{ status: string; version: number }> {
  const res = await app.admin.POST('/orders/{orderId}/checkout', { params: { path: { orderId }, query: { wait: 'true' } } });
  expect(res.response.status).toBe(200);
  const settled = res.data!;
  if (!('version' in settled)) throw new Error(`checkout answered no order: ${JSON.stringify(settled)}`);
  return settled;
}

async function streamVersion(streamId: string): Promise<number> {
  const { rows } = await app.pool.query<{ version: string }>('SELECT version FROM streams WHERE stream_id = $1', [streamId]);
  return Number(rows[0]?.version ?? 0);
}

/** The model row once it has folded the whole stream as it is now. */
async function waitForModel<T extends { version: number | string }>(read: () => Promise<T | undefined>, version: number): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const row = await read();
    if (row && Number(row.version) >= version) return row;
    if (Date.now() > deadline) throw new Error(`model not at version ${version}`);
    await sleep(10);
  }
}

test('order_summary, account_summary and the catalog each equal the fold of their streams', async () => {
  const mug = await product('Mug', 1250, 5);
  const plate = await product('Plate', 2000, 0);
  expect(
    (await app.admin.PATCH('/products/{productId}', { params: { path: { productId: plate } }, body: { name: 'Big plate', priceCents: 2100 } })).response.status,
  ).toBe(200);
  const customerId = uniqueId('rm-cust');
  expect((await app.admin.POST('/accounts/{customerId}/deposits', { params: { path: { customerId } }, body: { amountCents: 10_000 } })).response.status).toBe(
    200,
  );

  const confirmed = await order(customerId, [[mug, 2]]);
  expect(await checkout(confirmed.orderId)).toMatchObject({ status: 'CONFIRMED' });
  const failed = await order(customerId, [
    [mug, 1],
    [plate, 1],
  ]); // no plates in stock
  expect(await checkout(failed.orderId)).toMatchObject({ status: 'PENDING' });
  const cancelled = await order(customerId, [[mug, 1]]);
  expect(
    (await app.admin.POST('/orders/{orderId}/cancel', { params: { path: { orderId: cancelled.orderId } }, body: { reason: 'changed my mind' } })).response
      .status,
  ).toBe(200);
  expect((await app.admin.POST('/accounts/{customerId}/withdrawals', { params: { path: { customerId } }, body: { amountCents: 1000 } })).response.status).toBe(
    200,
  );

  for (const { orderId } of [confirmed, failed, cancelled]) {
    const streamId = `order-${orderId}`;
    const events = await readStream(app.pool, streamId);
    const row = await waitForModel(async () => (await app.pool.query('SELECT * FROM order_summary WHERE order_id = $1', [orderId])).rows[0], events.length);
    const fold = foldRecorded(orderDecider, events);
    expect(row).toMatchObject({
      customer_id: customerId,
      status: fold.status,
      items: fold.items,
      total_cents: String(fold.totalCents),
      version: String(events.length),
      last_checkout_failure: fold.lastCheckoutFailure,
      state: JSON.parse(JSON.stringify(fold)),
    });
    // The API serves the model; the strong read asks the actor: the same order.
    const eventual = await app.admin.GET('/orders/{orderId}', { params: { path: { orderId }, query: { minVersion: events.length } } });
    const strong = await app.admin.GET('/orders/{orderId}', { params: { path: { orderId }, query: { consistency: 'strong' } } });
    expect(eventual.data).toEqual(strong.data);
    expect(eventual.response.headers.get('etag')).toBe(`"${events.length}"`);
  }
  const failedRow = (await app.pool.query('SELECT last_checkout_failure FROM order_summary WHERE order_id = $1', [failed.orderId])).rows[0];
  expect(failedRow.last_checkout_failure).toMatchObject({ code: 'INSUFFICIENT_STOCK', attempt: 1 });

  const accountEvents = await readStream(app.pool, accountStreamId(customerId));
  const account = foldRecorded(accountDecider, accountEvents);
  const accountRow = await waitForModel(
    async () => (await app.pool.query('SELECT * FROM account_summary WHERE customer_id = $1', [customerId])).rows[0],
    accountEvents.length,
  );
  expect(accountRow).toMatchObject({
    balance_cents: String(account.balanceCents),
    total_deposits_cents: String(account.totalDepositsCents),
    total_withdrawals_cents: String(account.totalWithdrawalsCents),
    transaction_count: account.transactionCount,
    version: String(accountEvents.length),
  });
  expect(account.balanceCents).toBe(10_000 - 2500 - 1000);
  expect((await app.admin.GET('/accounts/{customerId}', { params: { path: { customerId }, query: { minVersion: accountEvents.length } } })).data).toEqual(
    (await app.admin.GET('/accounts/{customerId}', { params: { path: { customerId }, query: { consistency: 'strong' } } })).data,
  );

  for (const productId of [mug, plate]) {
    const productEvents = await readStream(app.pool, productStreamId(productId));
    const stockEvents = await readStream(app.pool, stockStreamId(productId));
    const p = foldRecorded(productDecider, productEvents);
    const s = foldRecorded(stockDecider, stockEvents);
    const row = await waitForModel(async () => {
      const r = (await app.pool.query('SELECT * FROM catalog WHERE product_id = $1', [productId])).rows[0];
      return r && Number(r.stock_version) >= stockEvents.length ? { ...r, version: r.product_version } : undefined;
    }, productEvents.length);
    expect(row).toMatchObject({
      product_exists: true,
      name: p.name,
      price_cents: String(p.priceCents),
      product_version: String(productEvents.length),
      on_hand: String(s.onHand),
      reserved: String(s.reserved),
      stock_version: String(stockEvents.length),
    });
    const served = await app.admin.GET('/products/{productId}', { params: { path: { productId }, query: { minVersion: productEvents.length } } });
    expect(served.data).toEqual((await app.admin.GET('/products/{productId}', { params: { path: { productId }, query: { consistency: 'strong' } } })).data);
  }
  expect((await app.admin.GET('/products/{productId}', { params: { path: { productId: mug } } })).data).toMatchObject({
    stock: { onHand: 3, reserved: 0, available: 3 },
  });
});

test('read-your-writes: a command and at once GET ?minVersion=<its version> sees the change, 100 times in a row', async () => {
  const mug = await product('Cup', 100, 0);
  const { orderId } = await order(uniqueId('ryw'), []);
  for (let i = 1; i <= 100; i++) {
    const added = await app.admin.POST('/orders/{orderId}/items', { params: { path: { orderId } }, body: { productId: mug, quantity: 1 } });
    expect(added.response.status).toBe(200);
    const read = await app.admin.GET('/orders/{orderId}', { params: { path: { orderId }, query: { minVersion: versionAfter(added) } } });
    expect(read.response.status).toBe(200);
    expect(read.data!.version).toBeGreaterThanOrEqual(versionAfter(added));
    expect(read.data!.items).toEqual([{ productId: mug, name: 'Cup', unitPriceCents: 100, quantity: i }]);
    expect(read.data!.totalCents).toBe(100 * i);
  }
});

test('read-your-writes on accounts and products; a model that stays behind is 504 READ_MODEL_BEHIND', async () => {
  const customerId = uniqueId('ryw-acct');
  for (let i = 1; i <= 10; i++) {
    const deposit = await app.admin.POST('/accounts/{customerId}/deposits', { params: { path: { customerId } }, body: { amountCents: 100 } });
    const read = await app.admin.GET('/accounts/{customerId}', { params: { path: { customerId }, query: { minVersion: deposit.data!.version } } });
    expect(read.data).toEqual(deposit.data);
  }
  const productId = await product('Jug', 900, 0);
  const renamed = await app.admin.PATCH('/products/{productId}', { params: { path: { productId } }, body: { name: 'Water jug' } });
  const restocked = await app.admin.POST('/products/{productId}/stock', { params: { path: { productId } }, body: { quantity: 4 } });
  const read = await app.admin.GET('/products/{productId}', {
    params: { path: { productId }, query: { minVersion: renamed.data!.version, minStockVersion: restocked.data!.version } },
  });
  expect(read.data).toMatchObject({ name: 'Water jug', version: 2, stock: { onHand: 4, available: 4 } });

  const impatient = await startTestApi({ client: app.client, pool: app.pool, readWaitMs: 200 });
  try {
    const behind = await apiFor(impatient.baseUrl).GET('/accounts/{customerId}', { params: { path: { customerId }, query: { minVersion: 999 } } });
    expect(statusAndBody(behind)).toMatchObject({ status: 504, body: { code: 'READ_MODEL_BEHIND', minVersion: 999, currentVersion: 11 } });
    expect(behind.response.headers.get('retry-after')).toBe('1');
    expect(behind.response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  } finally {
    await impatient.close();
  }
  expect((await app.admin.GET('/accounts/{customerId}', { params: { path: { customerId }, query: { minVersion: 0 } } })).error?.code).toBe('VALIDATION_FAILED');
  expect((await rawCall('GET', `/orders/x?consistency=maybe`)).body.code).toBe('VALIDATION_FAILED');
});

test("GET /customers/:id/orders pages through a customer's orders, newest first, filtered by status", async () => {
  const customerId = uniqueId('rm-list');
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push((await order(customerId, [])).orderId);
  const cancel = await app.admin.POST('/orders/{orderId}/cancel', { params: { path: { orderId: ids[1]! } }, body: { reason: 'no' } });
  expect(cancel.response.status).toBe(200);
  await app.admin.GET('/orders/{orderId}', { params: { path: { orderId: ids[1]! }, query: { minVersion: versionAfter(cancel) } } });
  for (const id of ids)
    expect((await app.admin.GET('/orders/{orderId}', { params: { path: { orderId: id }, query: { minVersion: 1 } } })).response.status).toBe(200);

  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page: { limit: number; cursor?: string } = { limit: 2, ...(cursor ? { cursor } : {}) };
    const res = await app.admin.GET('/customers/{customerId}/orders', { params: { path: { customerId }, query: page } });
    expect(res.response.status).toBe(200);
    expect(res.data!.orders.length).toBeLessThanOrEqual(2);
    seen.push(...res.data!.orders.map((o) => o.orderId));
    cursor = res.data!.nextCursor;
    pages++;
  } while (cursor);
  expect(pages).toBe(3);
  expect(seen).toEqual([...ids].reverse()); // created one after another: newest first

  const cancelled = await app.admin.GET('/customers/{customerId}/orders', { params: { path: { customerId }, query: { status: 'CANCELLED' } } });
  expect(cancelled.data!.orders).toEqual([expect.objectContaining({ orderId: ids[1], status: 'CANCELLED', totalCents: 0, items: [] })]);
  const pending = await app.admin.GET('/customers/{customerId}/orders', { params: { path: { customerId }, query: { status: 'PENDING', limit: 100 } } });
  expect(pending.data!.orders).toHaveLength(4);
  expect(pending.data!.nextCursor).toBeNull();

  expect((await rawCall('GET', `/customers/${customerId}/orders?status=LOST`)).body.code).toBe('VALIDATION_FAILED');
  expect((await app.admin.GET('/customers/{customerId}/orders', { params: { path: { customerId }, query: { limit: 0 } } })).error?.code).toBe(
    'VALIDATION_FAILED',
  );
  expect((await app.admin.GET('/customers/{customerId}/orders', { params: { path: { customerId }, query: { cursor: 'bogus' } } })).error?.code).toBe(
    'INVALID_CURSOR',
  );
  expect((await app.admin.GET('/customers/{customerId}/orders', { params: { path: { customerId: uniqueId('nobody') } } })).data).toMatchObject({
    orders: [],
    nextCursor: null,
  });
});

test('notifications: one per confirmed or cancelled order; the same event delivered 3 times more is still one', async () => {
  const mug = await product('Bowl', 500, 3);
  const customerId = uniqueId('rm-notify');
  await app.admin.POST('/accounts/{customerId}/deposits', { params: { path: { customerId } }, body: { amountCents: 5000 } });
  const confirmed = await order(customerId, [[mug, 1]]);
  expect(await checkout(confirmed.orderId)).toMatchObject({ status: 'CONFIRMED' });
  const cancelled = await order(customerId, [[mug, 1]]);
  await app.admin.POST('/orders/{orderId}/cancel', { params: { path: { orderId: cancelled.orderId } }, body: { reason: 'gift fell through' } });
  const pendingOnly = await order(customerId, [[mug, 1]]);

  const notificationsOf = async (orderId: string) =>
    (
      await app.pool.query<{ kind: string; customer_id: string; event_id: string }>(
        'SELECT kind, customer_id, event_id FROM notifications WHERE order_id = $1',
        [orderId],
      )
    ).rows;
  const deadline = Date.now() + 10_000;
  while ((await notificationsOf(confirmed.orderId)).length === 0 || (await notificationsOf(cancelled.orderId)).length === 0) {
    if (Date.now() > deadline) throw new Error('no notifications');
    await sleep(20);
  }
  expect(await notificationsOf(confirmed.orderId)).toEqual([expect.objectContaining({ kind: 'order_confirmed', customer_id: customerId })]);
  expect(await notificationsOf(cancelled.orderId)).toEqual([expect.objectContaining({ kind: 'order_cancelled', customer_id: customerId })]);

  // Redelivery (the projector already delivered it once): the inbox makes each a no-op.
  const succeeded = (await readStream(app.pool, `order-${confirmed.orderId}`)).find((e) => e.type === 'CheckoutSucceeded')!;
  const outcomes = [];
  for (let i = 0; i < 3; i++) outcomes.push(await deliverNotification(app.pool, succeeded));
  expect(outcomes).toEqual([false, false, false]);
  expect(await notificationsOf(confirmed.orderId)).toHaveLength(1);
  // A pending order is told nothing; its stream is fully projected by now.
  await app.admin.GET('/orders/{orderId}', {
    params: { path: { orderId: pendingOnly.orderId }, query: { minVersion: await streamVersion(`order-${pendingOnly.orderId}`) } },
  });
  expect(await notificationsOf(pendingOnly.orderId)).toEqual([]);
});

test('an event delivered for the first time 3 times over makes one notification', async () => {
  const { orderId } = await order(uniqueId('rm-inbox'), []);
  const created = (await readStream(app.pool, `order-${orderId}`))[0]!;
  // A fabricated expiry envelope with a fresh id (never appended): only the inbox stops repeats.
  const expired = { ...created, eventId: randomUUID(), type: 'OrderExpired', version: 99, data: { previousStatus: 'PENDING' } };
  const outcomes = [];
  for (let i = 0; i < 3; i++) outcomes.push(await deliverNotification(app.pool, expired));
  expect(outcomes).toEqual([true, false, false]);
  const { rows } = await app.pool.query('SELECT kind FROM notifications WHERE event_id = $1', [expired.eventId]);
  expect(rows).toEqual([{ kind: 'order_expired' }]);
});

test('GET /admin/projections: every projection running, with checkpoint, lag and parked count', async () => {
  const res = await app.admin.GET('/admin/projections');
  expect(res.response.status).toBe(200);
  const names = res.data!.projections.map((p: { name: string }) => p.name).sort();
  expect(names).toEqual(['account_summary', 'catalog', 'notifications', 'order_summary']);
  for (const p of res.data!.projections) {
    expect(['running', 'rebuilding']).toContain(p.state);
    expect(p.checkpoint).toEqual({ transactionId: expect.stringMatching(/^\d+$/), globalPosition: expect.any(Number), updatedAt: expect.any(String) });
    expect(p.lag.events).toBeGreaterThanOrEqual(0);
    expect(p.lag.ms).toBeGreaterThanOrEqual(0);
    expect(p.parkedEvents).toBe(0);
  }
});
