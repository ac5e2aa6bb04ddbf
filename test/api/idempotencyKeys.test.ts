import { expectProblem, uniqueId, useTestApi } from '../support/harness';
import { sampleAddress } from '../support/orders';

/*
 * Client keys against the ids the service forms for itself, and keys reused for other requests.
 * Every key here passes the key pattern; the strings are the shapes the code forms (or formed)
 * internally, which a client is free to send.
 */
const fixture = useTestApi();
const { rawCall } = fixture;

async function eventTypes(streamId: string): Promise<string[]> {
  const { rows } = await fixture.pool.query<{ type: string }>('SELECT type FROM events WHERE stream_id = $1 ORDER BY version', [streamId]);
  return rows.map((r) => r.type);
}

async function productWithStock(units: number): Promise<string> {
  const product = await rawCall('POST', '/products', { body: { name: 'Kettle', priceCents: 700 } });
  await rawCall('POST', `/products/${product.body.productId}/stock`, { body: { quantity: units } });
  return product.body.productId;
}

async function cart(customerId: string, productId: string): Promise<string> {
  const created = await rawCall('POST', '/orders', { body: { customerId, shippingAddress: sampleAddress } });
  expect(created.status).toBe(201);
  const orderId: string = created.body.orderId;
  expect((await rawCall('POST', `/orders/${orderId}/items`, { body: { productId, quantity: 1 } })).status).toBe(200);
  return orderId;
}

test('a checkout keyed like the saga report confirms, and the order records it', async () => {
  const productId = await productWithStock(10);
  const customerId = uniqueId('keys');
  await rawCall('POST', `/accounts/${customerId}/deposits`, { body: { amountCents: 10_000 } });
  // The ids the actor formed for the report of attempt 1 before namespaces, and the ones it forms now.
  const keys = ['checkout-1', 'internal:checkout:1', 'client:checkout-1'];
  const outcomes = await Promise.all(
    keys.map(async (key) => {
      const orderId = await cart(customerId, productId);
      const settled = await rawCall('POST', `/orders/${orderId}/checkout?wait=true`, { headers: { 'Idempotency-Key': key } });
      return { key, status: settled.status, order: settled.body.status, events: await eventTypes(`order-${orderId}`) };
    }),
  );
  for (const outcome of outcomes) {
    expect(outcome).toEqual({
      key: outcome.key,
      status: 200,
      order: 'CONFIRMED',
      events: ['OrderCreated', 'OrderItemAdded', 'OrderPlaced', 'StockReserved', 'PaymentDebited', 'CheckoutSucceeded'],
    });
  }
  expect((await rawCall('GET', `/accounts/${customerId}?consistency=strong`)).body.balanceCents).toBe(10_000 - 3 * 700);
});

test("deposits and restocks keyed like the saga's own steps are applied, not taken for those steps", async () => {
  const productId = await productWithStock(5);
  const customerId = uniqueId('keys');
  await rawCall('POST', `/accounts/${customerId}/deposits`, { body: { amountCents: 1000 } });
  const orderId = await cart(customerId, productId);
  expect((await rawCall('POST', `/orders/${orderId}/checkout?wait=true`)).body.status).toBe('CONFIRMED');
  // The saga's debit and reservation of attempt 1, in the shapes they were and are stored with.
  const reservation = `${orderId}-1`;
  for (const key of [`debit:${reservation}`, `internal:debit:${reservation}`]) {
    const deposit = await rawCall('POST', `/accounts/${customerId}/deposits`, { body: { amountCents: 100 }, headers: { 'Idempotency-Key': key } });
    expect(deposit.status).toBe(200);
  }
  for (const key of [`reserve:${reservation}`, `internal:reserve:${reservation}`, `internal:commit:${reservation}`]) {
    expect((await rawCall('POST', `/products/${productId}/stock`, { body: { quantity: 1 }, headers: { 'Idempotency-Key': key } })).status).toBe(200);
  }
  expect((await rawCall('GET', `/accounts/${customerId}?consistency=strong`)).body.balanceCents).toBe(1000 - 700 + 2 * 100);
  expect((await rawCall('GET', `/inventory/${productId}`)).body).toMatchObject({ onHand: 5 - 1 + 3 });
});

test('a key accepted for one command is refused for another on the same order, and acts once for its own', async () => {
  const productId = await productWithStock(5);
  const orderId = await cart(uniqueId('keys'), productId);
  const add = await rawCall('POST', `/orders/${orderId}/items`, { body: { productId, quantity: 2 }, headers: { 'Idempotency-Key': 'K' } });
  expect(add.body).toMatchObject({ version: 3, events: ['OrderItemAdded'] });
  expectProblem(
    await rawCall('POST', `/orders/${orderId}/cancel`, { body: { reason: 'reuse' }, headers: { 'Idempotency-Key': 'K' } }),
    422,
    'IDEMPOTENCY_KEY_REUSED',
  );
  expectProblem(
    await rawCall('POST', `/orders/${orderId}/items`, { body: { productId, quantity: 3 }, headers: { 'Idempotency-Key': 'K' } }),
    422,
    'IDEMPOTENCY_KEY_REUSED',
  );
  expect((await rawCall('POST', `/orders/${orderId}/items`, { body: { productId, quantity: 2 }, headers: { 'Idempotency-Key': 'K' } })).body).toEqual(add.body);
  // Another order is another resource: the same key is new there.
  const other = await cart(uniqueId('keys'), productId);
  expect((await rawCall('POST', `/orders/${other}/cancel`, { body: { reason: 'fine' }, headers: { 'Idempotency-Key': 'K' } })).body.status).toBe('CANCELLED');
  expect(await eventTypes(`order-${orderId}`)).toEqual(['OrderCreated', 'OrderItemAdded', 'OrderItemAdded']);
});

test('a rejection binds no key: the corrected retry with the same key is decided afresh', async () => {
  const productId = await productWithStock(5);
  const orderId = await cart(uniqueId('keys'), productId);
  const stale = await rawCall('POST', `/orders/${orderId}/items`, {
    body: { productId, quantity: 1 },
    headers: { 'Idempotency-Key': 'fix-me', 'If-Match': '"1"' },
  });
  expectProblem(stale, 412, 'VERSION_MISMATCH');
  const corrected = await rawCall('POST', `/orders/${orderId}/items`, {
    body: { productId, quantity: 1 },
    headers: { 'Idempotency-Key': 'fix-me', 'If-Match': '"2"' },
  });
  expect(corrected).toMatchObject({ status: 200, body: { version: 3 } });
  // Its status is the accepted answer now.
  expect((await rawCall('GET', `/orders/${orderId}/commands/fix-me`)).body).toMatchObject({ status: 'accepted', version: 3 });
  // A retry after re-reading the version (its own change) is the same request: the first answer, not 422.
  const reread = await rawCall('POST', `/orders/${orderId}/items`, {
    body: { productId, quantity: 1 },
    headers: { 'Idempotency-Key': 'fix-me', 'If-Match': '"3"' },
  });
  expect({ status: reread.status, body: reread.body }).toEqual({ status: 200, body: corrected.body });
});

test('a retried checkout?wait answers the order as its checkout left it, whatever came after', async () => {
  const productId = await productWithStock(5);
  const customerId = uniqueId('keys');
  await rawCall('POST', `/accounts/${customerId}/deposits`, { body: { amountCents: 1000 } });
  const orderId = await cart(customerId, productId);
  const first = await rawCall('POST', `/orders/${orderId}/checkout?wait=true`, { headers: { 'Idempotency-Key': 'pay' } });
  expect(first.body).toMatchObject({ status: 'CONFIRMED' });
  expect((await rawCall('POST', `/orders/${orderId}/ship`)).body.status).toBe('SHIPPED');
  const again = await rawCall('POST', `/orders/${orderId}/checkout?wait=true`, { headers: { 'Idempotency-Key': 'pay' } });
  expect({ status: again.status, body: again.body }).toEqual({ status: 200, body: first.body });
});
