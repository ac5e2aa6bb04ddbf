import { expectProblem, useTestApi, uniqueId } from '../support/harness';
import { sampleAddress } from '../support/orders';

/*
 * The pricing rule (README, "Prices"): a cart line shows the price of when it was last added to;
 * checkout charges the catalog's price of the moment it is placed, and a customer who wants to
 * approve the total first sends it as expectedTotalCents.
 */
const { call } = useTestApi();

async function setUp(priceCents: number) {
  const product = await call('POST', '/products', { body: { name: 'Lamp', priceCents } });
  const productId: string = product.body.productId;
  await call('POST', `/products/${productId}/stock`, { body: { quantity: 5000 } });
  const customerId = uniqueId('pricing');
  await call('POST', `/accounts/${customerId}/deposits`, { body: { amountCents: 100_000_000 } });
  const created = await call('POST', '/orders', { body: { customerId, shippingAddress: sampleAddress } });
  const orderId: string = created.body.orderId;
  expect((await call('POST', `/orders/${orderId}/items`, { body: { productId, quantity: 1 } })).status).toBe(200);
  return { productId, customerId, orderId };
}

test('a price raised after the cart was filled is what checkout charges, for every unit', async () => {
  const { productId, customerId, orderId } = await setUp(100);
  expect((await call('PATCH', `/products/${productId}`, { body: { priceCents: 10_000 } })).status).toBe(200);
  expect((await call('PATCH', `/orders/${orderId}/items/${productId}`, { body: { quantity: 1000 } })).status).toBe(200);
  const settled = await call('POST', `/orders/${orderId}/checkout?wait=true`);
  expect(settled.body).toMatchObject({ status: 'CONFIRMED', totalCents: 10_000_000, items: [{ productId, unitPriceCents: 10_000, quantity: 1000 }] });
  expect((await call('GET', `/accounts/${customerId}?consistency=strong`)).body.balanceCents).toBe(100_000_000 - 10_000_000);
});

test('a price dropped after the cart was filled is what checkout charges too', async () => {
  const { productId, customerId, orderId } = await setUp(5000);
  await call('PATCH', `/products/${productId}`, { body: { priceCents: 4000 } });
  expect((await call('POST', `/orders/${orderId}/checkout?wait=true`)).body).toMatchObject({ status: 'CONFIRMED', totalCents: 4000 });
  expect((await call('GET', `/accounts/${customerId}?consistency=strong`)).body.balanceCents).toBe(100_000_000 - 4000);
});

test('a total the customer did not approve is refused before anything is charged', async () => {
  const { productId, customerId, orderId } = await setUp(100);
  await call('PATCH', `/products/${productId}`, { body: { priceCents: 250 } });
  const refused = await call('POST', `/orders/${orderId}/checkout?wait=true`, { body: { expectedTotalCents: 100 } });
  expectProblem(refused, 409, 'PRICES_CHANGED');
  expect(refused.body.detail).toMatch(/250 cents/);
  expect((await call('GET', `/orders/${orderId}?consistency=strong`)).body).toMatchObject({ status: 'PENDING', version: 2 });
  const approved = await call('POST', `/orders/${orderId}/checkout?wait=true`, { body: { expectedTotalCents: 250 } });
  expect(approved.body).toMatchObject({ status: 'CONFIRMED', totalCents: 250 });
  expect((await call('GET', `/accounts/${customerId}?consistency=strong`)).body.balanceCents).toBe(100_000_000 - 250);
});

test('a cart refuses a total that no checkout could ever take', async () => {
  const { productId, orderId } = await setUp(2_000_000);
  expectProblem(await call('PATCH', `/orders/${orderId}/items/${productId}`, { body: { quantity: 501 } }), 422, 'ORDER_TOTAL_TOO_LARGE');
  expect((await call('PATCH', `/orders/${orderId}/items/${productId}`, { body: { quantity: 500 } })).status).toBe(200);
  expectProblem(await call('POST', `/orders/${orderId}/items`, { body: { productId, quantity: 1 } }), 422, 'ORDER_TOTAL_TOO_LARGE');
});

test('cancelling a confirmed free order gives the stock back and touches no wallet', async () => {
  const product = await call('POST', '/products', { body: { name: 'Sticker', priceCents: 0 } });
  const productId: string = product.body.productId;
  await call('POST', `/products/${productId}/stock`, { body: { quantity: 10 } });
  const customerId = uniqueId('free');
  const created = await call('POST', '/orders', { body: { customerId, shippingAddress: sampleAddress } });
  const orderId: string = created.body.orderId;
  await call('POST', `/orders/${orderId}/items`, { body: { productId, quantity: 2 } });
  expect((await call('POST', `/orders/${orderId}/checkout?wait=true`)).body).toMatchObject({ status: 'CONFIRMED', totalCents: 0 });
  expect((await call('POST', `/orders/${orderId}/cancel`, { body: { reason: 'free anyway' } })).body.status).toBe('CANCELLED');
  // No AccountOpened, no PaymentVoided for a payment that never happened.
  expect((await call('GET', `/accounts/${customerId}/events`)).status).toBe(404);
  expect((await call('GET', `/inventory/${productId}`)).body).toMatchObject({ onHand: 10, reserved: 0 });
});
