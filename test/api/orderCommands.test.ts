import type { Client } from '@temporalio/client';
import type { Pool } from '../../src/db/pool';
import type { ApiClient } from '../../src/client';
import { apiFor, createProduct, rawHttp, startTestApi, statusAndBody, type TestApi, testClient, testPool, uniqueId, versionAfter } from '../support/harness';
import { sampleAddress } from '../support/orders';

let client: Client;
let pool: Pool;
let api: TestApi;
let admin: ApiClient;
let mug: string;
let plate: string;

beforeAll(async () => {
  client = await testClient();
  pool = testPool();
  api = await startTestApi({ client, pool });
  admin = apiFor(api.baseUrl);
  mug = await createProduct(pool, 'Mug', 1250);
  plate = await createProduct(pool, 'Plate', 2000);
});

afterAll(async () => {
  await api.close();
  await client.connection.close();
  await pool.end();
});

/** For what the contract refuses: malformed input, a malformed If-Match. */
const rawCall = (method: string, path: string, options?: Parameters<typeof rawHttp>[3]) => rawHttp(api.baseUrl, method, path, options);

async function newOrder(extra: Record<string, unknown> = {}): Promise<string> {
  const orderId = uniqueId('api');
  const res = await admin.POST('/orders', { body: { orderId, customerId: 'customer-7', ...extra } });
  expect(res.response.status).toBe(201);
  return orderId;
}

async function eventTypes(orderId: string): Promise<string[]> {
  const { rows } = await pool.query<{ type: string }>('SELECT type FROM events WHERE stream_id = $1 ORDER BY version', [`order-${orderId}`]);
  return rows.map((r) => r.type);
}

test('a cart goes through every command route; each answer carries the new version as ETag', async () => {
  const orderId = await newOrder();
  const add = await admin.POST('/orders/{orderId}/items', { params: { path: { orderId } }, body: { productId: mug, quantity: 2 } });
  expect(statusAndBody(add)).toMatchObject({ status: 200, body: { version: 2, status: 'PENDING', events: ['OrderItemAdded'] } });
  expect(add.response.headers.get('etag')).toBe('"2"');
  expect(versionAfter(await admin.POST('/orders/{orderId}/items', { params: { path: { orderId } }, body: { productId: plate, quantity: 1 } }))).toBe(3);
  expect(
    (await admin.PATCH('/orders/{orderId}/items/{productId}', { params: { path: { orderId, productId: mug } }, body: { quantity: 5 } })).data,
  ).toMatchObject({ events: ['OrderItemQuantityChanged'] });
  expect((await admin.DELETE('/orders/{orderId}/items/{productId}', { params: { path: { orderId, productId: plate } } })).data).toMatchObject({
    events: ['OrderItemRemoved'],
  });
  expect((await admin.PUT('/orders/{orderId}/shipping-address', { params: { path: { orderId } }, body: sampleAddress })).data).toMatchObject({
    events: ['ShippingAddressChanged'],
  });

  const order = await admin.GET('/orders/{orderId}', { params: { path: { orderId }, query: { minVersion: 6 } } });
  expect(order.response.status).toBe(200);
  expect(order.response.headers.get('etag')).toBe('"6"');
  // Prices come from the catalog: 5 × 12.50.
  expect(order.data).toMatchObject({ orderId, version: 6, status: 'PENDING', totalCents: 6250, shippingAddress: sampleAddress });
  expect(order.data!.items).toEqual([{ productId: mug, name: 'Mug', unitPriceCents: 1250, quantity: 5 }]);

  // Checkout starts the saga; the Mug has no stock, so it fails and the order is back to PENDING.
  expect(statusAndBody(await admin.POST('/orders/{orderId}/checkout', { params: { path: { orderId } } }))).toMatchObject({
    status: 202,
    body: { status: 'PLACED', version: 7 },
  });
  const ship = await admin.POST('/orders/{orderId}/ship', { params: { path: { orderId } } });
  expect(statusAndBody(ship)).toMatchObject({ status: 409, body: { code: 'ORDER_NOT_CONFIRMED' } });
  expect((await admin.GET('/orders/{orderId}', { params: { path: { orderId }, query: { minVersion: 8 } } })).data).toMatchObject({
    status: 'PENDING',
    lastCheckoutFailure: { code: 'INSUFFICIENT_STOCK' },
  });
  expect((await admin.POST('/orders/{orderId}/cancel', { params: { path: { orderId } }, body: { reason: 'too slow' } })).data).toMatchObject({
    status: 'CANCELLED',
    version: 9,
  });

  // Time travel: the order as it was at version 3, folded from its stream.
  const past = await admin.GET('/orders/{orderId}/state', { params: { path: { orderId }, query: { version: 3 } } });
  expect(past.data).toMatchObject({ version: 3, status: 'PENDING', totalCents: 4500 });
  expect(past.data!.items).toHaveLength(2);
  expect((await admin.GET('/orders/{orderId}/state', { params: { path: { orderId }, query: { version: 99 } } })).error?.code).toBe('VERSION_NOT_FOUND');
});

test('the same Idempotency-Key three times is one command: one event, the same answer', async () => {
  const orderId = await newOrder();
  const answers = [];
  for (let i = 0; i < 3; i++) {
    answers.push(
      await admin.POST('/orders/{orderId}/items', {
        params: { path: { orderId }, header: { 'Idempotency-Key': 'add-mug-once' } },
        body: { productId: mug, quantity: 1 },
      }),
    );
  }
  expect(answers.map((a) => a.response.status)).toEqual([200, 200, 200]);
  expect(new Set(answers.map((a) => JSON.stringify(a.data))).size).toBe(1);
  expect(await eventTypes(orderId)).toEqual(['OrderCreated', 'OrderItemAdded']);

  // Creating with the same key again is the same answer too; another key for the same id is a conflict.
  const createKey = uniqueId('create');
  const id = uniqueId('idem');
  const first = await admin.POST('/orders', { params: { header: { 'Idempotency-Key': createKey } }, body: { orderId: id, customerId: 'c' } });
  const again = await admin.POST('/orders', { params: { header: { 'Idempotency-Key': createKey } }, body: { orderId: id, customerId: 'c' } });
  expect([first.response.status, again.response.status]).toEqual([201, 201]);
  expect((await admin.POST('/orders', { body: { orderId: id, customerId: 'c' } })).error?.code).toBe('ORDER_ALREADY_EXISTS');
  expect(await eventTypes(id)).toEqual(['OrderCreated']);
});

test('a rejected command repeats its rejection and never changes the order', async () => {
  const orderId = await newOrder();
  for (let i = 0; i < 2; i++) {
    const res = await admin.POST('/orders/{orderId}/items', {
      params: { path: { orderId }, header: { 'Idempotency-Key': 'too-many' } },
      body: { productId: mug, quantity: 5000 },
    });
    expect(statusAndBody(res)).toMatchObject({ status: 422, body: { code: 'INVALID_QUANTITY' } });
  }
  expect(
    (await admin.POST('/orders/{orderId}/items', { params: { path: { orderId } }, body: { productId: 'no-such-product', quantity: 1 } })).error?.code,
  ).toBe('PRODUCT_NOT_FOUND');
  expect((await admin.POST('/orders/{orderId}/checkout', { params: { path: { orderId } } })).error?.code).toBe('CART_EMPTY');
  expect(await eventTypes(orderId)).toEqual(['OrderCreated']);
});

test('If-Match is checked by the actor: a stale version is 412 and changes nothing', async () => {
  const orderId = await newOrder();
  const stale = await admin.POST('/orders/{orderId}/items', {
    params: { path: { orderId }, header: { 'If-Match': '"7"' } },
    body: { productId: mug, quantity: 1 },
  });
  expect(statusAndBody(stale)).toMatchObject({ status: 412, body: { code: 'VERSION_MISMATCH' } });
  const fresh = await admin.POST('/orders/{orderId}/items', {
    params: { path: { orderId }, header: { 'If-Match': '"1"' } },
    body: { productId: mug, quantity: 1 },
  });
  expect(fresh.response.status).toBe(200);
  expect((await rawCall('PATCH', `/orders/${orderId}/items/${mug}`, { body: { quantity: 2 }, headers: { 'If-Match': 'nonsense' } })).body.code).toBe(
    'INVALID_IF_MATCH',
  );
  expect(await eventTypes(orderId)).toEqual(['OrderCreated', 'OrderItemAdded']);
});

test('Prefer: respond-async sends the command as a signal; its outcome is readable later', async () => {
  const orderId = await newOrder();
  const accepted = await admin.POST('/orders/{orderId}/items', {
    params: { path: { orderId }, header: { Prefer: 'respond-async', 'Idempotency-Key': 'sig-add' } },
    body: { productId: mug, quantity: 3 },
  });
  expect(accepted.response.status).toBe(202);
  expect(accepted.data).toMatchObject({ commandId: 'sig-add', status: 'pending' });
  expect(accepted.response.headers.get('location')).toBe(`/orders/${orderId}/commands/sig-add`);
  const rejected = await admin.POST('/orders/{orderId}/items', {
    params: { path: { orderId }, header: { Prefer: 'respond-async', 'Idempotency-Key': 'sig-zero' } },
    body: { productId: mug, quantity: 0 },
  });
  expect(rejected.response.status).toBe(202);

  const outcomeOf = async (commandId: string) => {
    for (let i = 0; i < 50; i++) {
      const res = await admin.GET('/orders/{orderId}/commands/{commandId}', { params: { path: { orderId, commandId } } });
      if (res.response.status === 200 && res.data!.status !== 'pending') return res.data;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no outcome for ${commandId}`);
  };
  expect(await outcomeOf('sig-add')).toMatchObject({ status: 'accepted', version: 2, events: ['OrderItemAdded'] });
  expect(await outcomeOf('sig-zero')).toMatchObject({ status: 'rejected', code: 'INVALID_QUANTITY' });
  expect((await admin.GET('/orders/{orderId}/commands/{commandId}', { params: { path: { orderId, commandId: 'never-sent' } } })).response.status).toBe(404);
  expect(await eventTypes(orderId)).toEqual(['OrderCreated', 'OrderItemAdded']);
});

test('a finished order answers 409 ORDER_CLOSED to commands and is still readable from its stream', async () => {
  const orderId = await newOrder({ shippingAddress: sampleAddress });
  expect((await admin.POST('/orders/{orderId}/cancel', { params: { path: { orderId } }, body: { reason: 'test' } })).response.status).toBe(200);
  await client.workflow.getHandle(`order-${orderId}`).result();
  const late = await admin.POST('/orders/{orderId}/items', { params: { path: { orderId } }, body: { productId: mug, quantity: 1 } });
  expect(statusAndBody(late)).toMatchObject({ status: 409, body: { code: 'ORDER_CLOSED' } });
  expect(late.response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const read = await admin.GET('/orders/{orderId}', { params: { path: { orderId }, query: { minVersion: 2 } } });
  expect(read.data).toMatchObject({ status: 'CANCELLED', version: 2, cancellationReason: 'test' });
});

// Temporal admits 10 in-flight updates per workflow and the client retries the rest until their
// deadline; the API sends at most MAX_COMMANDS_IN_FLIGHT_PER_ORDER at once and refuses the rest
// before sending them, so a 429 is prompt and certainly did nothing.
test('a burst of concurrent commands on one order: each is answered 200 or a prompt 429 that did nothing, never 500', async () => {
  const orderId = await newOrder();
  const responses = await Promise.all(
    Array.from({ length: 30 }, (_, i) =>
      admin.POST('/orders/{orderId}/items', {
        params: { path: { orderId }, header: { 'Idempotency-Key': `burst-${i}` } },
        body: { productId: mug, quantity: 1 },
      }),
    ),
  );
  const statuses = responses.map((r) => r.response.status);
  expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
  expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
  for (const r of responses.filter((res) => res.response.status === 429)) {
    expect(r.error?.code).toBe('TOO_MANY_REQUESTS');
    expect(r.response.headers.get('retry-after')).toBe('1');
  }
  const added = (await eventTypes(orderId)).filter((t) => t === 'OrderItemAdded').length;
  expect(added).toBe(statuses.filter((s) => s === 200).length);
});

describe('malformed input on every route is a 400 problem and writes nothing', () => {
  let orderId: string;
  beforeAll(async () => {
    orderId = await newOrder();
  });
  const cases: Array<[string, string, Parameters<typeof rawHttp>[3]]> = [
    ['POST', '/orders', { body: { customerId: 42 } }],
    ['POST', '/orders', { body: { customerId: 'c', orderId: 'has spaces' } }],
    ['POST', '/orders', { body: { customerId: 'c', unexpected: true } }],
    ['POST', '/orders', { body: { customerId: 'c', shippingAddress: { city: 'Paris' } } }],
    ['POST', '/orders/{id}/items', { body: { productId: 'p', quantity: 'two' } }],
    ['POST', '/orders/{id}/items', { body: { productId: 'p', quantity: 1.5 } }],
    ['POST', '/orders/{id}/items', { body: { productId: 'p', quantity: 2 ** 60 } }],
    ['POST', '/orders/{id}/items', { rawBody: '[1,2' }],
    ['PATCH', '/orders/{id}/items/p', { body: {} }],
    ['PUT', '/orders/{id}/shipping-address', { body: { ...sampleAddress, country: 'France' } }],
    ['POST', '/orders/{id}/cancel', { body: { reason: '   ' } }],
    ['POST', '/orders/{id}/checkout', { body: { total: 1 } }],
    ['POST', '/orders/{id}/ship', { body: { carrier: 'x' } }],
    ['POST', '/orders/{id}/items', { body: { productId: 'p', quantity: 1 }, headers: { 'Idempotency-Key': 'not a key!' } }],
    ['GET', '/orders/{id}/state?version=abc', {}],
    ['GET', '/orders/bad%20id', {}],
  ];
  test.each(cases)('%s %s %j', async (method, path, options) => {
    const res = await rawCall(method, path.replace('{id}', orderId), options);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toMatch(/^[A-Z_]+$/);
    expect(res.body.detail).toEqual(expect.any(String));
    expect(await eventTypes(orderId)).toEqual(['OrderCreated']);
  });
});
