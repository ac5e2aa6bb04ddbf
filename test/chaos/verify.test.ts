import { duplicateEffects } from '../../chaos/verify';
import { createProduct, uniqueId, useTestApi } from '../support/harness';
import { sampleAddress } from '../support/orders';

const app = useTestApi({ poolSize: 4 });

test('exactly-once effects are counted by the key as the actor stores it: an accepted add once, a refused add never', async () => {
  const productId = await createProduct(app.pool, 'Teapot', 900);
  const customerId = uniqueId('verify-cust');
  const orderId = uniqueId('verify-order');
  const keys = { create: uniqueId('create'), add: uniqueId('add'), refused: uniqueId('add-refused'), checkout: uniqueId('checkout') };
  const created = await app.admin.POST('/orders', {
    params: { header: { 'Idempotency-Key': keys.create } },
    body: { orderId, customerId, shippingAddress: sampleAddress },
  });
  expect(created.response.status).toBe(201);
  const add = (key: string, quantity: number) =>
    app.admin.POST('/orders/{orderId}/items', { params: { path: { orderId }, header: { 'Idempotency-Key': key } }, body: { productId, quantity } });
  expect((await add(keys.add, 1)).response.status).toBe(200);
  // Retried with its key: acts once.
  expect((await add(keys.add, 1)).response.status).toBe(200);
  expect((await add(keys.refused, 0)).response.status).toBe(422);

  const shopper = {
    orderId,
    customerId,
    createKey: keys.create,
    adds: [
      { key: keys.add, status: 200 },
      { key: keys.refused, status: 422 },
    ],
    checkoutKey: keys.checkout,
  };
  expect(await duplicateEffects(app.pool, [shopper])).toEqual([]);
  // An add the client saw accepted that the stream does not hold is found.
  const lost = uniqueId('add-lost');
  expect(await duplicateEffects(app.pool, [{ ...shopper, adds: [...shopper.adds, { key: lost, status: 200 }] }])).toEqual([
    `order-${orderId}: 0 OrderItemAdded for key ${lost}, expected 1`,
  ]);
});
