import { expectProblem, uniqueId, useTestApi } from '../support/harness';
import { sampleAddress } from '../support/orders';

/*
 * The pricing rule (README, "Prices"): a cart line shows the price of when it was last added to;
 * checkout charges the catalog's price of the moment it is placed, and a customer who wants to
 * approve the total first sends it as expectedTotalCents.
 */
const app = useTestApi();

async function setUp(priceCents: number) {
  const product = await app.admin.POST('/products', { body: { name: 'Lamp', priceCents } });
  const productId: string = product.data!.productId;
  await app.admin.POST('/products/{productId}/stock', { params: { path: { productId } }, body: { quantity: 5000 } });
  const customerId = uniqueId('pricing');
  await app.admin.POST('/accounts/{customerId}/deposits', { params: { path: { customerId } }, body: { amountCents: 100_000_000 } });
  const created = await app.admin.POST('/orders', { body: { customerId, shippingAddress: sampleAddress } });
  const orderId: string = created.data!.orderId;
  expect((await app.admin.POST('/orders/{orderId}/items', { params: { path: { orderId } }, body: { productId, quantity: 1 } })).response.status).toBe(200);
  return { productId, customerId, orderId };
}

test('a price raised after the cart was filled is what checkout charges, for every unit', async () => {
  const { productId, customerId, orderId } = await setUp(100);
  expect((await app.admin.PATCH('/products/{productId}', { params: { path: { productId } }, body: { priceCents: 10_000 } })).response.status).toBe(200);
  expect(
    (await app.admin.PATCH('/orders/{orderId}/items/{productId}', { params: { path: { orderId, productId } }, body: { quantity: 1000 } })).response.status,
  ).toBe(200);
  const settled = await app.admin.POST('/orders/{orderId}/checkout', { params: { path: { orderId }, query: { wait: 'true' } } });
  expect(settled.data).toMatchObject({ status: 'CONFIRMED', totalCents: 10_000_000, items: [{ productId, unitPriceCents: 10_000, quantity: 1000 }] });
  expect((await app.admin.GET('/accounts/{customerId}', { params: { path: { customerId }, query: { consistency: 'strong' } } })).data!.balanceCents).toBe(
    100_000_000 - 10_000_000,
  );
});

test('a price dropped after the cart was filled is what checkout charges too', async () => {
  const { productId, customerId, orderId } = await setUp(5000);
  await app.admin.PATCH('/products/{productId}', { params: { path: { productId } }, body: { priceCents: 4000 } });
  expect((await app.admin.POST('/orders/{orderId}/checkout', { params: { path: { orderId }, query: { wait: 'true' } } })).data).toMatchObject({
    status: 'CONFIRMED',
    totalCents: 4000,
  });
  expect((await app.admin.GET('/accounts/{customerId}', { params: { path: { customerId }, query: { consistency: 'strong' } } })).data!.balanceCents).toBe(
    100_000_000 - 4000,
  );
});

test('a total the customer did not approve is refused before anything is charged', async () => {
  const { productId, customerId, orderId } = await setUp(100);
  await app.admin.PATCH('/products/{productId}', { params: { path: { productId } }, body: { priceCents: 250 } });
  const refused = await app.admin.POST('/orders/{orderId}/checkout', {
    params: { path: { orderId }, query: { wait: 'true' } },
    body: { expectedTotalCents: 100 },
  });
  expectProblem(refused, 409, 'PRICES_CHANGED');
  expect(refused.error!.detail).toMatch(/250 cents/);
  expect((await app.admin.GET('/orders/{orderId}', { params: { path: { orderId }, query: { consistency: 'strong' } } })).data).toMatchObject({
    status: 'PENDING',
    version: 2,
  });
  const approved = await app.admin.POST('/orders/{orderId}/checkout', {
    params: { path: { orderId }, query: { wait: 'true' } },
    body: { expectedTotalCents: 250 },
  });
  expect(approved.data).toMatchObject({ status: 'CONFIRMED', totalCents: 250 });
  expect((await app.admin.GET('/accounts/{customerId}', { params: { path: { customerId }, query: { consistency: 'strong' } } })).data!.balanceCents).toBe(
    100_000_000 - 250,
  );
});

test('a cart refuses a total that no checkout could ever take', async () => {
  const { productId, orderId } = await setUp(2_000_000);
  expectProblem(
    await app.admin.PATCH('/orders/{orderId}/items/{productId}', { params: { path: { orderId, productId } }, body: { quantity: 501 } }),
    422,
    'ORDER_TOTAL_TOO_LARGE',
  );
  expect(
    (await app.admin.PATCH('/orders/{orderId}/items/{productId}', { params: { path: { orderId, productId } }, body: { quantity: 500 } })).response.status,
  ).toBe(200);
  expectProblem(
    await app.admin.POST('/orders/{orderId}/items', { params: { path: { orderId } }, body: { productId, quantity: 1 } }),
    422,
    'ORDER_TOTAL_TOO_LARGE',
  );
});

test('cancelling a confirmed free order gives the stock back and touches no wallet', async () => {
  const product = await app.admin.POST('/products', { body: { name: 'Sticker', priceCents: 0 } });
  const productId: string = product.data!.productId;
  await app.admin.POST('/products/{productId}/stock', { params: { path: { productId } }, body: { quantity: 10 } });
  const customerId = uniqueId('free');
  const created = await app.admin.POST('/orders', { body: { customerId, shippingAddress: sampleAddress } });
  const orderId: string = created.data!.orderId;
  await app.admin.POST('/orders/{orderId}/items', { params: { path: { orderId } }, body: { productId, quantity: 2 } });
  expect((await app.admin.POST('/orders/{orderId}/checkout', { params: { path: { orderId }, query: { wait: 'true' } } })).data).toMatchObject({
    status: 'CONFIRMED',
    totalCents: 0,
  });
  expect((await app.admin.POST('/orders/{orderId}/cancel', { params: { path: { orderId } }, body: { reason: 'free anyway' } })).data!.status).toBe('CANCELLED');
  // No AccountOpened, no PaymentVoided for a payment that never happened.
  expect((await app.admin.GET('/accounts/{customerId}/events', { params: { path: { customerId } } })).response.status).toBe(404);
  expect((await app.admin.GET('/inventory/{productId}', { params: { path: { productId } } })).data).toMatchObject({ onHand: 10, reserved: 0 });
});
