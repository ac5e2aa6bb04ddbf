import { signToken } from '../../src/auth/tokens';
import { createPool } from '../../src/db/pool';
import { freePort } from '../../src/devstack/freePort';
import { createLogger } from '../../src/logger';
import { sampleAddress } from '../support/orders';
import {
  ADMIN,
  apiFor,
  createProduct,
  customer,
  expectProblem,
  startTestApi,
  statusAndBody,
  TEST_AUTH_SECRET,
  tokenFor,
  uniqueId,
  useTestApi,
} from '../support/harness';

const app = useTestApi();
const { rawCall } = app;

const eventCount = async (streamId: string) =>
  Number((await app.pool.query<{ n: string }>('SELECT count(*) AS n FROM events WHERE stream_id = $1', [streamId])).rows[0]!.n);

/** A customer with an order holding one item, created with that customer's own token. */
async function customerWithOrder() {
  const customerId = uniqueId('cust');
  const as = customer(customerId);
  const productId = await createProduct(app.pool, 'Lamp', 2500);
  const created = await app.as(as).POST('/orders', { body: { shippingAddress: sampleAddress } });
  expect(created.response.status).toBe(201);
  const orderId = created.data!.orderId;
  expect((await app.as(as).POST('/orders/{orderId}/items', { params: { path: { orderId } }, body: { productId, quantity: 1 } })).response.status).toBe(200);
  return { customerId, as, orderId, productId };
}

describe('authentication', () => {
  test('without a token: 401 with WWW-Authenticate; health and the catalog stay open', async () => {
    for (const [method, path] of [
      ['POST', '/orders'],
      ['GET', '/orders/some-order'],
      ['GET', '/customers/alice/orders'],
      ['GET', '/accounts/alice'],
      ['POST', '/accounts/alice/deposits'],
      ['GET', '/inventory'],
      ['POST', '/products'],
      ['GET', '/admin/projections'],
    ] as const) {
      const res = await rawCall(method, path, { as: 'anonymous', body: method === 'POST' ? {} : undefined });
      expectProblem(res, 401, 'UNAUTHENTICATED');
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
    }
    expect((await app.as('anonymous').GET('/healthz')).response.status).toBe(200);
    expect((await app.as('anonymous').GET('/products')).response.status).toBe(200);
  });

  test('a malformed, forged or expired token is 401, even on open routes', async () => {
    const forged = await signToken(`${TEST_AUTH_SECRET}-not-ours`, ADMIN);
    for (const authorization of ['Bearer', 'Basic YWRtaW46YWRtaW4=', 'Bearer not.a.jwt', `Bearer ${forged}`, `Bearer ${await tokenFor(ADMIN)}x`]) {
      expectProblem(await rawCall('GET', '/products', { headers: { authorization } }), 401, 'INVALID_TOKEN');
    }
    // Expired has its own code: the client should get a new token, not give up.
    const expired = await signToken(TEST_AUTH_SECRET, ADMIN, 60, Date.now() - 3_600_000);
    expectProblem(await rawCall('GET', '/products', { headers: { authorization: `Bearer ${expired}` } }), 401, 'TOKEN_EXPIRED');
  });
});

describe('a customer touches only its own orders and account', () => {
  test('orders are created for the token subject; naming another customer is 403', async () => {
    const { customerId, orderId, as } = await customerWithOrder();
    expect((await app.as(as).GET('/orders/{orderId}', { params: { path: { orderId }, query: { consistency: 'strong' } } })).data).toMatchObject({
      customerId,
      status: 'PENDING',
    });
    expectProblem(await app.as(as).POST('/orders', { body: { customerId: uniqueId('other') } }), 403, 'FORBIDDEN');
    // An admin acts for a customer, so it must say which one.
    expectProblem(await app.admin.POST('/orders', { body: {} }), 400, 'VALIDATION_FAILED');
  });

  test("another customer's order answers 404 on every route and is left unchanged", async () => {
    const { orderId, productId } = await customerWithOrder();
    const mallory = app.as(customer(uniqueId('mallory')));
    const order = { path: { orderId } };
    const line = { path: { orderId, productId } };
    const before = await eventCount(`order-${orderId}`);
    for (const attempt of [
      () => mallory.GET('/orders/{orderId}', { params: order }),
      () => mallory.GET('/orders/{orderId}', { params: { ...order, query: { consistency: 'strong' } } }),
      () => mallory.GET('/orders/{orderId}/events', { params: order }),
      () => mallory.GET('/orders/{orderId}/state', { params: { ...order, query: { version: 1 } } }),
      () => mallory.GET('/orders/{orderId}/commands/{commandId}', { params: { path: { orderId, commandId: 'any-command' } } }),
      () => mallory.POST('/orders/{orderId}/items', { params: order, body: { productId, quantity: 5 } }),
      () => mallory.PATCH('/orders/{orderId}/items/{productId}', { params: line, body: { quantity: 3 } }),
      () => mallory.DELETE('/orders/{orderId}/items/{productId}', { params: line }),
      () => mallory.PUT('/orders/{orderId}/shipping-address', { params: order, body: sampleAddress }),
      () => mallory.POST('/orders/{orderId}/checkout', { params: order, body: {} }),
      () => mallory.POST('/orders/{orderId}/cancel', { params: order, body: { reason: 'not mine' } }),
    ]) {
      expectProblem(await attempt(), 404, 'ORDER_NOT_FOUND');
    }
    // The signal path too: nothing is sent to the actor.
    expectProblem(
      await mallory.POST('/orders/{orderId}/items', { params: { ...order, header: { Prefer: 'respond-async' } }, body: { productId, quantity: 5 } }),
      404,
      'ORDER_NOT_FOUND',
    );
    // A customer names no order ids: taken or free, the answer is the same, so ids cannot be probed.
    expectProblem(await mallory.POST('/orders', { body: { orderId } }), 403, 'FORBIDDEN');
    expectProblem(await mallory.POST('/orders', { body: { orderId: uniqueId('free') } }), 403, 'FORBIDDEN');
    expect(await eventCount(`order-${orderId}`)).toBe(before);
  });

  test("another customer's account and order list answer 404; its balance is unchanged", async () => {
    const { customerId, as } = await customerWithOrder();
    expect((await app.as(as).POST('/accounts/{customerId}/deposits', { params: { path: { customerId } }, body: { amountCents: 1000 } })).response.status).toBe(
      200,
    );
    const mallory = customer(uniqueId('mallory'));
    expectProblem(await app.as(mallory).GET('/accounts/{customerId}', { params: { path: { customerId } } }), 404, 'ACCOUNT_NOT_FOUND');
    expectProblem(await app.as(mallory).GET('/accounts/{customerId}/events', { params: { path: { customerId } } }), 404, 'ACCOUNT_NOT_FOUND');
    expectProblem(
      await app.as(mallory).POST('/accounts/{customerId}/withdrawals', { params: { path: { customerId } }, body: { amountCents: 1000 } }),
      404,
      'ACCOUNT_NOT_FOUND',
    );
    expectProblem(await app.as(mallory).GET('/customers/{customerId}/orders', { params: { path: { customerId } } }), 404, 'CUSTOMER_NOT_FOUND');
    expect((await app.as(as).GET('/accounts/{customerId}', { params: { path: { customerId }, query: { consistency: 'strong' } } })).data).toMatchObject({
      balanceCents: 1000,
      transactionCount: 1,
    });
    expect((await app.as(as).GET('/customers/{customerId}/orders', { params: { path: { customerId } } })).response.status).toBe(200);
  });

  test('the shop is run by admins: catalog changes, stock, shipping and /admin are 403 for customers', async () => {
    const { as, orderId, productId } = await customerWithOrder();
    const shopper = app.as(as);
    const product = { path: { productId } };
    for (const attempt of [
      () => shopper.POST('/products', { body: { name: 'Free stuff', priceCents: 1 } }),
      () => shopper.PATCH('/products/{productId}', { params: product, body: { priceCents: 1 } }),
      () => shopper.POST('/products/{productId}/stock', { params: product, body: { quantity: 100 } }),
      () => shopper.GET('/inventory'),
      () => shopper.GET('/inventory/{productId}', { params: product }),
      () => shopper.POST('/orders/{orderId}/ship', { params: { path: { orderId } } }),
      () => shopper.GET('/admin/projections'),
      () => shopper.GET('/admin/dead-letters'),
      () => shopper.POST('/admin/dead-letters/{id}/retry', { params: { path: { id: 1 } } }),
    ]) {
      expectProblem(await attempt(), 403, 'FORBIDDEN');
    }
    expect(await eventCount(`stock-${productId}`)).toBe(0);
    expect((await app.as(as).GET('/products/{productId}', { params: { path: { productId }, query: { consistency: 'strong' } } })).data).toMatchObject({
      priceCents: 2500,
    });
  });
});

describe('retries with the same Idempotency-Key have exactly one effect', () => {
  test('POST /orders without an orderId names the same order for the same customer and key', async () => {
    const as = customer(uniqueId('cust'));
    const params = { header: { 'Idempotency-Key': uniqueId('create') } };
    const first = await app.as(as).POST('/orders', { params, body: {} });
    const again = await app.as(as).POST('/orders', { params, body: {} });
    expect(first.response.status).toBe(201);
    expect(statusAndBody(again)).toMatchObject({ status: 201, body: { orderId: first.data!.orderId, version: 1 } });
    expect(await eventCount(`order-${first.data!.orderId}`)).toBe(1);
    // Another customer's equal key is another order.
    const other = await app.as(customer(uniqueId('cust'))).POST('/orders', { params, body: {} });
    expect(other.response.status).toBe(201);
    expect(other.data!.orderId).not.toBe(first.data!.orderId);
  });

  test('deposits, withdrawals, restocks and product creation apply once per key', async () => {
    const customerId = uniqueId('cust');
    const as = customer(customerId);
    const key = () => ({ 'Idempotency-Key': uniqueId('key') });
    const deposit = { path: { customerId }, header: key() };
    for (let i = 0; i < 2; i++) await app.as(as).POST('/accounts/{customerId}/deposits', { params: deposit, body: { amountCents: 700 } });
    const withdrawal = { path: { customerId }, header: key() };
    for (let i = 0; i < 2; i++) await app.as(as).POST('/accounts/{customerId}/withdrawals', { params: withdrawal, body: { amountCents: 200 } });
    const account = await app.as(as).GET('/accounts/{customerId}', { params: { path: { customerId }, query: { consistency: 'strong' } } });
    expect(account.data).toMatchObject({ balanceCents: 500, transactionCount: 2 });

    const product = { header: key() };
    const created = await app.admin.POST('/products', { params: product, body: { name: 'Vase', priceCents: 900 } });
    const createdAgain = await app.admin.POST('/products', { params: product, body: { name: 'Vase', priceCents: 900 } });
    expect(created.response.status).toBe(201);
    expect(createdAgain.data!.productId).toBe(created.data!.productId);
    const productId = created.data!.productId;
    expect(await eventCount(`product-${productId}`)).toBe(1);

    const restock = { path: { productId }, header: key() };
    for (let i = 0; i < 2; i++)
      expect((await app.admin.POST('/products/{productId}/stock', { params: restock, body: { quantity: 4 } })).data).toMatchObject({
        onHand: 4,
        version: 1,
      });
    expect(await eventCount(`stock-${productId}`)).toBe(1);
  });

  test('the same key on a different request is refused with 422 IDEMPOTENCY_KEY_REUSED, and changes nothing', async () => {
    const customerId = uniqueId('cust');
    const as = customer(customerId);
    const params = { path: { customerId }, header: { 'Idempotency-Key': uniqueId('key') } };
    expect((await app.as(as).POST('/accounts/{customerId}/deposits', { params, body: { amountCents: 700 } })).response.status).toBe(200);
    expectProblem(await app.as(as).POST('/accounts/{customerId}/deposits', { params, body: { amountCents: 900 } }), 422, 'IDEMPOTENCY_KEY_REUSED');
    expectProblem(await app.as(as).POST('/accounts/{customerId}/withdrawals', { params, body: { amountCents: 700 } }), 422, 'IDEMPOTENCY_KEY_REUSED');
    expect((await app.as(as).GET('/accounts/{customerId}', { params: { path: { customerId }, query: { consistency: 'strong' } } })).data).toMatchObject({
      balanceCents: 700,
      transactionCount: 1,
    });

    const product = { header: { 'Idempotency-Key': uniqueId('key') } };
    const created = await app.admin.POST('/products', { params: product, body: { name: 'Bowl', priceCents: 400 } });
    expectProblem(await app.admin.POST('/products', { params: product, body: { name: 'Bowl', priceCents: 1 } }), 422, 'IDEMPOTENCY_KEY_REUSED');
    const productId = created.data!.productId;
    const restock = { path: { productId }, header: { 'Idempotency-Key': uniqueId('key') } };
    await app.admin.POST('/products/{productId}/stock', { params: restock, body: { quantity: 2 } });
    expectProblem(await app.admin.POST('/products/{productId}/stock', { params: restock, body: { quantity: 3 } }), 422, 'IDEMPOTENCY_KEY_REUSED');
    expect((await app.admin.GET('/products/{productId}', { params: { path: { productId }, query: { consistency: 'strong' } } })).data).toMatchObject({
      priceCents: 400,
      stock: { onHand: 2 },
    });
  });
});

describe('guards around every request', () => {
  test('a caller over its rate gets 429 with Retry-After; other callers are not held back', async () => {
    const limited = await startTestApi({ client: app.client, pool: app.pool, rateLimit: { perSecond: 0.5, burst: 3 } });
    try {
      const alice = customer(uniqueId('alice'));
      const statuses = [];
      for (let i = 0; i < 4; i++)
        statuses.push(
          (await apiFor(limited.baseUrl, alice).GET('/customers/{customerId}/orders', { params: { path: { customerId: alice.sub } } })).response.status,
        );
      expect(statuses).toEqual([200, 200, 200, 429]);
      const refused = await apiFor(limited.baseUrl, alice).GET('/customers/{customerId}/orders', { params: { path: { customerId: alice.sub } } });
      expectProblem(refused, 429, 'RATE_LIMITED');
      expect(Number(refused.response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      const bob = customer(uniqueId('bob'));
      expect((await apiFor(limited.baseUrl, bob).GET('/customers/{customerId}/orders', { params: { path: { customerId: bob.sub } } })).response.status).toBe(
        200,
      );
    } finally {
      await limited.close();
    }
  });

  test('security headers on answers and on errors', async () => {
    const answered = [
      (await app.admin.GET('/products')).response,
      await rawCall('GET', '/no-such-route'),
      await rawCall('GET', '/orders/x', { as: 'anonymous' }),
    ];
    for (const res of answered) {
      expect(
        Object.fromEntries(
          ['x-content-type-options', 'x-frame-options', 'content-security-policy', 'cache-control', 'referrer-policy'].map((h) => [h, res.headers.get(h)]),
        ),
      ).toEqual({
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'DENY',
        'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
        'cache-control': 'no-store',
        'referrer-policy': 'no-referrer',
      });
      expect(res.headers.get('x-powered-by')).toBeNull();
    }
  });

  test('Postgres out of reach: 503 DATABASE_UNAVAILABLE with Retry-After, not a 500', async () => {
    const unreachable = createPool(`postgres://orders:orders@127.0.0.1:${await freePort()}/postgres`, 2);
    const api = await startTestApi({ client: app.client, pool: unreachable });
    try {
      // An account read, a catalog read, and an order's owner look-up: each needs Postgres.
      const c1 = apiFor(api.baseUrl, customer('c-1'));
      for (const attempt of [
        () => c1.GET('/accounts/{customerId}', { params: { path: { customerId: 'c-1' } } }),
        () => c1.GET('/products'),
        () => c1.GET('/orders/{orderId}', { params: { path: { orderId: uniqueId('o') } } }),
      ]) {
        const res = await attempt();
        expectProblem(res, 503, 'DATABASE_UNAVAILABLE');
        expect(res.response.headers.get('retry-after')).toBe('2');
      }
    } finally {
      await api.close();
      await unreachable.end();
    }
  });

  test('credentials never reach a log line', async () => {
    const token = await tokenFor(ADMIN);
    const lines: string[] = [];
    const logger = createLogger('info', 'test', { write: (line: string) => void lines.push(line) });
    logger.info({ req: { headers: { authorization: `Bearer ${token}` } }, config: { AUTH_SECRET: TEST_AUTH_SECRET } }, 'request');
    expect(lines.join('')).not.toContain(TEST_AUTH_SECRET);
    expect(lines.join('')).not.toContain(token.split('.')[2]);
    expect(lines.join('')).toContain('[redacted]');
  });
});
