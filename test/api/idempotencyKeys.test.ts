import { expectProblem, statusAndBody, uniqueId, useTestApi } from '../support/harness';
import { sampleAddress } from '../support/orders';

/*
 * Client keys against the ids the service forms for itself, and keys reused for other requests.
 * Every key here passes the key pattern; the strings are the shapes the code forms (or formed)
 * internally, which a client is free to send.
 */
const fixture = useTestApi();

async function eventTypes(streamId: string): Promise<string[]> {
  const { rows } = await fixture.pool.query<{ type: string }>('SELECT type FROM events WHERE stream_id = $1 ORDER BY version', [streamId]);
  return rows.map((r) => r.type);
}

async function productWithStock(units: number): Promise<string> {
  const product = await fixture.admin.POST('/products', { body: { name: 'Kettle', priceCents: 700 } });
  await fixture.admin.POST('/products/{productId}/stock', { params: { path: { productId: product.data!.productId } }, body: { quantity: units } });
  return product.data!.productId;
}

async function cart(customerId: string, productId: string): Promise<string> {
  const created = await fixture.admin.POST('/orders', { body: { customerId, shippingAddress: sampleAddress } });
  expect(created.response.status).toBe(201);
  const orderId: string = created.data!.orderId;
  expect((await fixture.admin.POST('/orders/{orderId}/items', { params: { path: { orderId } }, body: { productId, quantity: 1 } })).response.status).toBe(200);
  return orderId;
}

test('a checkout keyed like the saga report confirms, and the order records it', async () => {
  const productId = await productWithStock(10);
  const customerId = uniqueId('keys');
  await fixture.admin.POST('/accounts/{customerId}/deposits', { params: { path: { customerId } }, body: { amountCents: 10_000 } });
  // The ids the actor formed for the report of attempt 1 before namespaces, and the ones it forms now.
  const keys = ['checkout-1', 'internal:checkout:1', 'client:checkout-1'];
  const outcomes = await Promise.all(
    keys.map(async (key) => {
      const orderId = await cart(customerId, productId);
      const settled = await fixture.admin.POST('/orders/{orderId}/checkout', {
        params: { path: { orderId }, query: { wait: 'true' }, header: { 'Idempotency-Key': key } },
      });
      return { key, status: settled.response.status, order: settled.data?.status, events: await eventTypes(`order-${orderId}`) };
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
  expect((await fixture.admin.GET('/accounts/{customerId}', { params: { path: { customerId }, query: { consistency: 'strong' } } })).data!.balanceCents).toBe(
    10_000 - 3 * 700,
  );
});

test("deposits and restocks keyed like the saga's own steps are applied, not taken for those steps", async () => {
  const productId = await productWithStock(5);
  const customerId = uniqueId('keys');
  await fixture.admin.POST('/accounts/{customerId}/deposits', { params: { path: { customerId } }, body: { amountCents: 1000 } });
  const orderId = await cart(customerId, productId);
  expect((await fixture.admin.POST('/orders/{orderId}/checkout', { params: { path: { orderId }, query: { wait: 'true' } } })).data!.status).toBe('CONFIRMED');
  // The saga's debit and reservation of attempt 1, in the shapes they were and are stored with.
  const reservation = `${orderId}-1`;
  for (const key of [`debit:${reservation}`, `internal:debit:${reservation}`]) {
    const deposit = await fixture.admin.POST('/accounts/{customerId}/deposits', {
      params: { path: { customerId }, header: { 'Idempotency-Key': key } },
      body: { amountCents: 100 },
    });
    expect(deposit.response.status).toBe(200);
  }
  for (const key of [`reserve:${reservation}`, `internal:reserve:${reservation}`, `internal:commit:${reservation}`]) {
    expect(
      (await fixture.admin.POST('/products/{productId}/stock', { params: { path: { productId }, header: { 'Idempotency-Key': key } }, body: { quantity: 1 } }))
        .response.status,
    ).toBe(200);
  }
  expect((await fixture.admin.GET('/accounts/{customerId}', { params: { path: { customerId }, query: { consistency: 'strong' } } })).data!.balanceCents).toBe(
    1000 - 700 + 2 * 100,
  );
  expect((await fixture.admin.GET('/inventory/{productId}', { params: { path: { productId } } })).data).toMatchObject({ onHand: 5 - 1 + 3 });
});

test('a key accepted for one command is refused for another on the same order, and acts once for its own', async () => {
  const productId = await productWithStock(5);
  const orderId = await cart(uniqueId('keys'), productId);
  const add = await fixture.admin.POST('/orders/{orderId}/items', {
    params: { path: { orderId }, header: { 'Idempotency-Key': 'K' } },
    body: { productId, quantity: 2 },
  });
  expect(add.data).toMatchObject({ version: 3, events: ['OrderItemAdded'] });
  expectProblem(
    await fixture.admin.POST('/orders/{orderId}/cancel', { params: { path: { orderId }, header: { 'Idempotency-Key': 'K' } }, body: { reason: 'reuse' } }),
    422,
    'IDEMPOTENCY_KEY_REUSED',
  );
  expectProblem(
    await fixture.admin.POST('/orders/{orderId}/items', {
      params: { path: { orderId }, header: { 'Idempotency-Key': 'K' } },
      body: { productId, quantity: 3 },
    }),
    422,
    'IDEMPOTENCY_KEY_REUSED',
  );
  expect(
    (
      await fixture.admin.POST('/orders/{orderId}/items', {
        params: { path: { orderId }, header: { 'Idempotency-Key': 'K' } },
        body: { productId, quantity: 2 },
      })
    ).data,
  ).toEqual(add.data);
  // Another order is another resource: the same key is new there.
  const other = await cart(uniqueId('keys'), productId);
  expect(
    (
      await fixture.admin.POST('/orders/{orderId}/cancel', {
        params: { path: { orderId: other }, header: { 'Idempotency-Key': 'K' } },
        body: { reason: 'fine' },
      })
    ).data!.status,
  ).toBe('CANCELLED');
  expect(await eventTypes(`order-${orderId}`)).toEqual(['OrderCreated', 'OrderItemAdded', 'OrderItemAdded']);
});

test('a rejection binds no key: the corrected retry with the same key is decided afresh', async () => {
  const productId = await productWithStock(5);
  const orderId = await cart(uniqueId('keys'), productId);
  const stale = await fixture.admin.POST('/orders/{orderId}/items', {
    params: { path: { orderId }, header: { 'Idempotency-Key': 'fix-me', 'If-Match': '"1"' } },
    body: { productId, quantity: 1 },
  });
  expectProblem(stale, 412, 'VERSION_MISMATCH');
  const corrected = await fixture.admin.POST('/orders/{orderId}/items', {
    params: { path: { orderId }, header: { 'Idempotency-Key': 'fix-me', 'If-Match': '"2"' } },
    body: { productId, quantity: 1 },
  });
  expect(statusAndBody(corrected)).toMatchObject({ status: 200, body: { version: 3 } });
  // Its status is the accepted answer now.
  expect((await fixture.admin.GET('/orders/{orderId}/commands/{commandId}', { params: { path: { orderId, commandId: 'fix-me' } } })).data).toMatchObject({
    status: 'accepted',
    version: 3,
  });
  // A retry after re-reading the version (its own change) is the same request: the first answer, not 422.
  const reread = await fixture.admin.POST('/orders/{orderId}/items', {
    params: { path: { orderId }, header: { 'Idempotency-Key': 'fix-me', 'If-Match': '"3"' } },
    body: { productId, quantity: 1 },
  });
  expect(statusAndBody(reread)).toEqual({ status: 200, body: corrected.data });
});

test('a retried checkout?wait answers the order as its checkout left it, whatever came after', async () => {
  const productId = await productWithStock(5);
  const customerId = uniqueId('keys');
  await fixture.admin.POST('/accounts/{customerId}/deposits', { params: { path: { customerId } }, body: { amountCents: 1000 } });
  const orderId = await cart(customerId, productId);
  const first = await fixture.admin.POST('/orders/{orderId}/checkout', {
    params: { path: { orderId }, query: { wait: 'true' }, header: { 'Idempotency-Key': 'pay' } },
  });
  expect(first.data).toMatchObject({ status: 'CONFIRMED' });
  expect((await fixture.admin.POST('/orders/{orderId}/ship', { params: { path: { orderId } } })).data!.status).toBe('SHIPPED');
  const again = await fixture.admin.POST('/orders/{orderId}/checkout', {
    params: { path: { orderId }, query: { wait: 'true' }, header: { 'Idempotency-Key': 'pay' } },
  });
  expect(statusAndBody(again)).toEqual({ status: 200, body: first.data });
});
