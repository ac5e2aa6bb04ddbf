import { signToken } from '../../src/auth/tokens';
import { createPool } from '../../src/db/pool';
import { freePort } from '../../src/devstack/freePort';
import { createLogger } from '../../src/logger';
import { sampleAddress } from '../support/orders';
import {
  ADMIN,
  createProduct,
  customer,
  expectProblem,
  type RawCall,
  rawHttp,
  startTestApi,
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
  const created = await rawCall('POST', '/orders', { body: { shippingAddress: sampleAddress }, as });
  expect(created.status).toBe(201);
  const orderId: string = created.body.orderId;
  expect((await rawCall('POST', `/orders/${orderId}/items`, { body: { productId, quantity: 1 }, as })).status).toBe(200);
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
    expect((await rawCall('GET', '/healthz', { as: 'anonymous' })).status).toBe(200);
    expect((await rawCall('GET', '/products', { as: 'anonymous' })).status).toBe(200);
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
    expect((await rawCall('GET', `/orders/${orderId}?consistency=strong`, { as })).body).toMatchObject({ customerId, status: 'PENDING' });
    expectProblem(await rawCall('POST', '/orders', { body: { customerId: uniqueId('other') }, as }), 403, 'FORBIDDEN');
    // An admin acts for a customer, so it must say which one.
    expectProblem(await rawCall('POST', '/orders', { body: {} }), 400, 'VALIDATION_FAILED');
  });

  test("another customer's order answers 404 on every route and is left unchanged", async () => {
    const { orderId, productId } = await customerWithOrder();
    const mallory: RawCall = (method, path, options) => rawCall(method, path, { ...options, as: customer(uniqueId('mallory')) });
    const before = await eventCount(`order-${orderId}`);
    for (const [method, path, body] of [
      ['GET', `/orders/${orderId}`],
      ['GET', `/orders/${orderId}?consistency=strong`],
      ['GET', `/orders/${orderId}/events`],
      ['GET', `/orders/${orderId}/state?version=1`],
      ['GET', `/orders/${orderId}/commands/any-command`],
      ['POST', `/orders/${orderId}/items`, { productId, quantity: 5 }],
      ['PATCH', `/orders/${orderId}/items/${productId}`, { quantity: 3 }],
      ['DELETE', `/orders/${orderId}/items/${productId}`],
      ['PUT', `/orders/${orderId}/shipping-address`, sampleAddress],
      ['POST', `/orders/${orderId}/checkout`, {}],
      ['POST', `/orders/${orderId}/cancel`, { reason: 'not mine' }],
    ] as const) {
      expectProblem(await mallory(method, path, { body }), 404, 'ORDER_NOT_FOUND');
    }
    // The signal path too: nothing is sent to the actor.
    expectProblem(
      await mallory('POST', `/orders/${orderId}/items`, { body: { productId, quantity: 5 }, headers: { prefer: 'respond-async' } }),
      404,
      'ORDER_NOT_FOUND',
    );
    // A customer names no order ids: taken or free, the answer is the same, so ids cannot be probed.
    expectProblem(await mallory('POST', '/orders', { body: { orderId } }), 403, 'FORBIDDEN');
    expectProblem(await mallory('POST', '/orders', { body: { orderId: uniqueId('free') } }), 403, 'FORBIDDEN');
    expect(await eventCount(`order-${orderId}`)).toBe(before);
  });

  test("another customer's account and order list answer 404; its balance is unchanged", async () => {
    const { customerId, as } = await customerWithOrder();
    expect((await rawCall('POST', `/accounts/${customerId}/deposits`, { body: { amountCents: 1000 }, as })).status).toBe(200);
    const mallory = customer(uniqueId('mallory'));
    expectProblem(await rawCall('GET', `/accounts/${customerId}`, { as: mallory }), 404, 'ACCOUNT_NOT_FOUND');
    expectProblem(await rawCall('GET', `/accounts/${customerId}/events`, { as: mallory }), 404, 'ACCOUNT_NOT_FOUND');
    expectProblem(await rawCall('POST', `/accounts/${customerId}/withdrawals`, { body: { amountCents: 1000 }, as: mallory }), 404, 'ACCOUNT_NOT_FOUND');
    expectProblem(await rawCall('GET', `/customers/${customerId}/orders`, { as: mallory }), 404, 'CUSTOMER_NOT_FOUND');
    expect((await rawCall('GET', `/accounts/${customerId}?consistency=strong`, { as })).body).toMatchObject({ balanceCents: 1000, transactionCount: 1 });
    expect((await rawCall('GET', `/customers/${customerId}/orders`, { as })).status).toBe(200);
  });

  test('the shop is run by admins: catalog changes, stock, shipping and /admin are 403 for customers', async () => {
    const { as, orderId, productId } = await customerWithOrder();
    for (const [method, path, body] of [
      ['POST', '/products', { name: 'Free stuff', priceCents: 1 }],
      ['PATCH', `/products/${productId}`, { priceCents: 1 }],
      ['POST', `/products/${productId}/stock`, { quantity: 100 }],
      ['GET', '/inventory'],
      ['GET', `/inventory/${productId}`],
      ['POST', `/orders/${orderId}/ship`, {}],
      ['GET', '/admin/projections'],
      ['GET', '/admin/dead-letters'],
      ['POST', '/admin/dead-letters/1/retry', {}],
    ] as const) {
      expectProblem(await rawCall(method, path, { body, as }), 403, 'FORBIDDEN');
    }
    expect(await eventCount(`stock-${productId}`)).toBe(0);
    expect((await rawCall('GET', `/products/${productId}?consistency=strong`, { as })).body).toMatchObject({ priceCents: 2500 });
  });
});

describe('retries with the same Idempotency-Key have exactly one effect', () => {
  test('POST /orders without an orderId names the same order for the same customer and key', async () => {
    const as = customer(uniqueId('cust'));
    const headers = { 'idempotency-key': uniqueId('create') };
    const first = await rawCall('POST', '/orders', { body: {}, headers, as });
    const again = await rawCall('POST', '/orders', { body: {}, headers, as });
    expect(first.status).toBe(201);
    expect(again).toMatchObject({ status: 201, body: { orderId: first.body.orderId, version: 1 } });
    expect(await eventCount(`order-${first.body.orderId}`)).toBe(1);
    // Another customer's equal key is another order.
    const other = await rawCall('POST', '/orders', { body: {}, headers, as: customer(uniqueId('cust')) });
    expect(other.status).toBe(201);
    expect(other.body.orderId).not.toBe(first.body.orderId);
  });

  test('deposits, withdrawals, restocks and product creation apply once per key', async () => {
    const customerId = uniqueId('cust');
    const as = customer(customerId);
    const key = () => ({ 'idempotency-key': uniqueId('key') });
    const deposit = key();
    for (let i = 0; i < 2; i++) await rawCall('POST', `/accounts/${customerId}/deposits`, { body: { amountCents: 700 }, headers: deposit, as });
    const withdrawal = key();
    for (let i = 0; i < 2; i++) await rawCall('POST', `/accounts/${customerId}/withdrawals`, { body: { amountCents: 200 }, headers: withdrawal, as });
    const account = await rawCall('GET', `/accounts/${customerId}?consistency=strong`, { as });
    expect(account.body).toMatchObject({ balanceCents: 500, transactionCount: 2 });

    const product = key();
    const created = await rawCall('POST', '/products', { body: { name: 'Vase', priceCents: 900 }, headers: product });
    const createdAgain = await rawCall('POST', '/products', { body: { name: 'Vase', priceCents: 900 }, headers: product });
    expect(created.status).toBe(201);
    expect(createdAgain.body.productId).toBe(created.body.productId);
    const productId: string = created.body.productId;
    expect(await eventCount(`product-${productId}`)).toBe(1);

    const restock = key();
    for (let i = 0; i < 2; i++)
      expect((await rawCall('POST', `/products/${productId}/stock`, { body: { quantity: 4 }, headers: restock })).body).toMatchObject({
        onHand: 4,
        version: 1,
      });
    expect(await eventCount(`stock-${productId}`)).toBe(1);
  });

  test('the same key on a different request is refused with 422 IDEMPOTENCY_KEY_REUSED, and changes nothing', async () => {
    const customerId = uniqueId('cust');
    const as = customer(customerId);
    const headers = { 'idempotency-key': uniqueId('key') };
    expect((await rawCall('POST', `/accounts/${customerId}/deposits`, { body: { amountCents: 700 }, headers, as })).status).toBe(200);
    expectProblem(await rawCall('POST', `/accounts/${customerId}/deposits`, { body: { amountCents: 900 }, headers, as }), 422, 'IDEMPOTENCY_KEY_REUSED');
    expectProblem(await rawCall('POST', `/accounts/${customerId}/withdrawals`, { body: { amountCents: 700 }, headers, as }), 422, 'IDEMPOTENCY_KEY_REUSED');
    expect((await rawCall('GET', `/accounts/${customerId}?consistency=strong`, { as })).body).toMatchObject({ balanceCents: 700, transactionCount: 1 });

    const product = { 'idempotency-key': uniqueId('key') };
    const created = await rawCall('POST', '/products', { body: { name: 'Bowl', priceCents: 400 }, headers: product });
    expectProblem(await rawCall('POST', '/products', { body: { name: 'Bowl', priceCents: 1 }, headers: product }), 422, 'IDEMPOTENCY_KEY_REUSED');
    const restock = { 'idempotency-key': uniqueId('key') };
    await rawCall('POST', `/products/${created.body.productId}/stock`, { body: { quantity: 2 }, headers: restock });
    expectProblem(
      await rawCall('POST', `/products/${created.body.productId}/stock`, { body: { quantity: 3 }, headers: restock }),
      422,
      'IDEMPOTENCY_KEY_REUSED',
    );
    expect((await rawCall('GET', `/products/${created.body.productId}?consistency=strong`)).body).toMatchObject({ priceCents: 400, stock: { onHand: 2 } });
  });
});

describe('guards around every request', () => {
  test('a caller over its rate gets 429 with Retry-After; other callers are not held back', async () => {
    const limited = await startTestApi({ client: app.client, pool: app.pool, rateLimit: { perSecond: 0.5, burst: 3 } });
    try {
      const alice = customer(uniqueId('alice'));
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await rawHttp(limited.baseUrl, 'GET', `/customers/${alice.sub}/orders`, { as: alice })).status);
      expect(statuses).toEqual([200, 200, 200, 429]);
      const refused = await rawHttp(limited.baseUrl, 'GET', `/customers/${alice.sub}/orders`, { as: alice });
      expectProblem(refused, 429, 'RATE_LIMITED');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      const bob = customer(uniqueId('bob'));
      expect((await rawHttp(limited.baseUrl, 'GET', `/customers/${bob.sub}/orders`, { as: bob })).status).toBe(200);
    } finally {
      await limited.close();
    }
  });

  test('security headers on answers and on errors', async () => {
    for (const res of [await rawCall('GET', '/products'), await rawCall('GET', '/no-such-route'), await rawCall('GET', '/orders/x', { as: 'anonymous' })]) {
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
      for (const path of ['/accounts/c-1', '/products', `/orders/${uniqueId('o')}`]) {
        const res = await rawHttp(api.baseUrl, 'GET', path, { as: customer('c-1') });
        expectProblem(res, 503, 'DATABASE_UNAVAILABLE');
        expect(res.headers.get('retry-after')).toBe('2');
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
