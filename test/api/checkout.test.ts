import { commandIdOf, createProduct, statusAndBody, uniqueId, useTestApi } from '../support/harness';
import { sampleAddress } from '../support/orders';
import { readStream } from '../../src/application/eventStore';
import { stockStreamId } from '../../src/domain/stock';

const app = useTestApi({ poolSize: 30 });

async function productWithStock(name: string, priceCents: number, units: number): Promise<string> {
  const productId = await createProduct(app.pool, name, priceCents);
  if (units > 0)
    expect((await app.admin.POST('/products/{productId}/stock', { params: { path: { productId } }, body: { quantity: units } })).response.status).toBe(200);
  return productId;
}

async function customerWith(balanceCents: number): Promise<string> {
  const customerId = uniqueId('cust');
  if (balanceCents > 0)
    expect(
      (await app.admin.POST('/accounts/{customerId}/deposits', { params: { path: { customerId } }, body: { amountCents: balanceCents } })).response.status,
    ).toBe(200);
  return customerId;
}

async function cart(customerId: string, lines: Array<[string, number]>): Promise<string> {
  const orderId = uniqueId('order');
  const created = await app.admin.POST('/orders', { body: { orderId, customerId, shippingAddress: sampleAddress } });
  expect({ status: created.response.status, code: created.error?.code }).toEqual({ status: 201, code: undefined });
  for (const [productId, quantity] of lines) {
    expect((await app.admin.POST('/orders/{orderId}/items', { params: { path: { orderId } }, body: { productId, quantity } })).response.status).toBe(200);
  }
  return orderId;
}

const inventory = async (productId: string) => (await app.admin.GET('/inventory/{productId}', { params: { path: { productId } } })).data;
const balance = async (customerId: string) =>
  (await app.admin.GET('/accounts/{customerId}', { params: { path: { customerId }, query: { consistency: 'strong' } } })).data!.balanceCents;
const eventTypes = async (orderId: string) =>
  (await app.admin.GET('/orders/{orderId}/events', { params: { path: { orderId } } })).data!.events.map((e) => e.type);

test('happy path: reserve, debit, commit; the order is CONFIRMED and stock and money agree', async () => {
  const mug = await productWithStock('Mug', 1250, 10);
  const plate = await productWithStock('Plate', 2000, 5);
  const customerId = await customerWith(10_000);
  const orderId = await cart(customerId, [
    [mug, 2],
    [plate, 1],
  ]);

  const placed = await app.admin.POST('/orders/{orderId}/checkout', { params: { path: { orderId } } });
  expect(statusAndBody(placed)).toMatchObject({ status: 202, body: { status: 'PLACED' } });
  const outcome = await app.admin.POST('/orders/{orderId}/checkout', {
    params: { path: { orderId }, query: { wait: 'true' }, header: { 'Idempotency-Key': commandIdOf(placed) } },
  });
  expect(statusAndBody(outcome)).toMatchObject({ status: 200, body: { status: 'CONFIRMED', totalCents: 4500, lastCheckoutFailure: null } });

  expect(await inventory(mug)).toMatchObject({ onHand: 8, reserved: 0, available: 8 });
  expect(await inventory(plate)).toMatchObject({ onHand: 4, reserved: 0, available: 4 });
  expect((await app.admin.GET('/products/{productId}', { params: { path: { productId: mug }, query: { consistency: 'strong' } } })).data!.stock).toMatchObject({
    onHand: 8,
    available: 8,
  });
  expect(await balance(customerId)).toBe(10_000 - 4500);
  expect(await eventTypes(orderId)).toEqual([
    'OrderCreated',
    'OrderItemAdded',
    'OrderItemAdded',
    'OrderPlaced',
    'StockReserved',
    'StockReserved',
    'PaymentDebited',
    'CheckoutSucceeded',
  ]);
  expect((await app.admin.POST('/orders/{orderId}/ship', { params: { path: { orderId } } })).data).toMatchObject({ status: 'SHIPPED' });
});

test('out of stock on the 2nd of 3 lines: the 1st is released, nothing is debited, the order is back to PENDING', async () => {
  const [a, b, c] = [await productWithStock('A', 100, 10), await productWithStock('B', 100, 1), await productWithStock('C', 100, 10)];
  const customerId = await customerWith(10_000);
  const orderId = await cart(customerId, [
    [a, 2],
    [b, 2],
    [c, 2],
  ]);

  const outcome = await app.admin.POST('/orders/{orderId}/checkout', { params: { path: { orderId }, query: { wait: 'true' } } });
  expect(outcome.data).toMatchObject({ status: 'PENDING', lastCheckoutFailure: { attempt: 1, code: 'INSUFFICIENT_STOCK' } });
  for (const [p, units] of [
    [a, 10],
    [b, 1],
    [c, 10],
  ] as const)
    expect(await inventory(p)).toMatchObject({ onHand: units, reserved: 0 });
  expect(await balance(customerId)).toBe(10_000);
  const events = (await app.admin.GET('/orders/{orderId}/events', { params: { path: { orderId } } })).data!.events;
  expect(events.slice(-2).map((e) => e.type)).toEqual(['StockReserved', 'CheckoutFailed']);
  expect(events.at(-1)!.data).toMatchObject({ code: 'INSUFFICIENT_STOCK', compensations: [`voided reservation of ${b}`, `released stock of ${a}`] });

  // The customer fixes the cart and tries again: attempt 2 succeeds.
  expect(
    (await app.admin.PATCH('/orders/{orderId}/items/{productId}', { params: { path: { orderId, productId: b } }, body: { quantity: 1 } })).response.status,
  ).toBe(200);
  expect((await app.admin.POST('/orders/{orderId}/checkout', { params: { path: { orderId }, query: { wait: 'true' } } })).data).toMatchObject({
    status: 'CONFIRMED',
    checkoutAttempts: 2,
  });
});

test('insufficient funds: every reservation is released and the order is back to PENDING', async () => {
  const [a, b] = [await productWithStock('A', 3000, 5), await productWithStock('B', 3000, 5)];
  const customerId = await customerWith(5000);
  const orderId = await cart(customerId, [
    [a, 1],
    [b, 1],
  ]);
  const outcome = await app.admin.POST('/orders/{orderId}/checkout', { params: { path: { orderId }, query: { wait: 'true' } } });
  expect(outcome.data).toMatchObject({ status: 'PENDING', lastCheckoutFailure: { code: 'INSUFFICIENT_FUNDS' } });
  for (const p of [a, b]) expect(await inventory(p)).toMatchObject({ onHand: 5, reserved: 0, available: 5 });
  expect(await balance(customerId)).toBe(5000);
});

test('cancelling a CONFIRMED order returns the stock and refunds the payment', async () => {
  const mug = await productWithStock('Mug', 1250, 3);
  const customerId = await customerWith(5000);
  const orderId = await cart(customerId, [[mug, 2]]);
  expect((await app.admin.POST('/orders/{orderId}/checkout', { params: { path: { orderId }, query: { wait: 'true' } } })).data!.status).toBe('CONFIRMED');
  expect(await inventory(mug)).toMatchObject({ onHand: 1 });

  const cancel = await app.admin.POST('/orders/{orderId}/cancel', { params: { path: { orderId } }, body: { reason: 'changed my mind' } });
  expect(statusAndBody(cancel)).toMatchObject({ status: 200, body: { status: 'CANCELLED' } });
  expect(await inventory(mug)).toMatchObject({ onHand: 3, reserved: 0, available: 3 });
  expect(await balance(customerId)).toBe(5000);
  const last = (await app.admin.GET('/orders/{orderId}/events', { params: { path: { orderId } } })).data!.events.at(-1);
  expect(last).toMatchObject({ type: 'OrderCancelled', data: { previousStatus: 'CONFIRMED', compensations: ['refund payment', `returned stock of ${mug}`] } });
});

test('the same checkout Idempotency-Key twice runs one saga', async () => {
  const mug = await productWithStock('Mug', 500, 5);
  const customerId = await customerWith(5000);
  const orderId = await cart(customerId, [[mug, 1]]);
  const first = await app.admin.POST('/orders/{orderId}/checkout', { params: { path: { orderId }, header: { 'Idempotency-Key': 'pay-once' } } });
  const second = await app.admin.POST('/orders/{orderId}/checkout', { params: { path: { orderId }, header: { 'Idempotency-Key': 'pay-once' } } });
  expect(second.data).toEqual(first.data);
  await app.admin.POST('/orders/{orderId}/checkout', { params: { path: { orderId }, query: { wait: 'true' }, header: { 'Idempotency-Key': 'pay-once' } } });
  expect((await eventTypes(orderId)).filter((t) => t === 'OrderPlaced')).toHaveLength(1);
  // Its steps ran once: one reservation, committed once, and one debit.
  expect((await readStream(app.pool, stockStreamId(mug))).map((e) => e.type)).toEqual(['StockRestocked', 'StockReserved', 'StockCommitted']);
  expect(await inventory(mug)).toMatchObject({ onHand: 4, reserved: 0 });
  expect(await balance(customerId)).toBe(4500);
});

test('a race: 50 concurrent checkouts for a product with 10 units confirm exactly 10', async () => {
  const scarce = await productWithStock('Scarce', 700, 10);
  const buyers = await Promise.all(
    Array.from({ length: 50 }, async () => {
      const customerId = await customerWith(700);
      return { customerId, orderId: await cart(customerId, [[scarce, 1]]) };
    }),
  );
  // A wait that runs out answers 202 PLACED; the client asks again with the same key until the saga has ended.
  const checkOut = async (orderId: string) => {
    for (;;) {
      const answer = await app.admin.POST('/orders/{orderId}/checkout', {
        params: { path: { orderId }, query: { wait: 'true', timeout: 30 }, header: { 'Idempotency-Key': `race-${orderId}` } },
      });
      if (answer.data?.status !== 'PLACED') return answer.data;
    }
  };
  const outcomes = await Promise.all(buyers.map((b) => checkOut(b.orderId)));
  const statuses = outcomes.map((o) => o?.status);
  expect(statuses.filter((s) => s === 'CONFIRMED')).toHaveLength(10);
  expect(statuses.filter((s) => s === 'PENDING')).toHaveLength(40);
  for (const o of outcomes.filter((x) => x?.status === 'PENDING')) expect(o).toMatchObject({ lastCheckoutFailure: { code: 'INSUFFICIENT_STOCK' } });
  expect(await inventory(scarce)).toMatchObject({ onHand: 0, reserved: 0, available: 0 });
  const balances = await Promise.all(buyers.map((b) => balance(b.customerId)));
  expect(balances.filter((cents) => cents === 0)).toHaveLength(10);
  expect(balances.filter((cents) => cents === 700)).toHaveLength(40);
}, 240_000);
