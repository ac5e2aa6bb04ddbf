import { ApplicationFailure } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { createActivities } from '../../src/activities';
import type { CheckoutActivities } from '../../src/activities/checkoutActivities';
import type { Pool } from '../../src/db/pool';
import { stockStreamId } from '../../src/domain/stock';
import type { ApiClient } from '../../src/client';
import { apiFor, createProduct, createTestWorker, startTestApi, statusAndBody, uniqueId, useWorkerConnections } from '../support/harness';
import { failing, happensButFails } from '../support/faults';
import { sampleAddress } from '../support/orders';
import { readStream } from '../../src/application/eventStore';

let client: Client;
let pool: Pool;
let connection: NativeConnection;
useWorkerConnections((opened) => ({ client, pool, connection } = opened));

/** Real activities on a queue of its own, with some steps replaced by a faulty version. */
async function withFaultyWorker(faults: Partial<CheckoutActivities>, scenario: (api: ApiClient) => Promise<void>) {
  const taskQueue = uniqueId('faulty');
  const worker = await createTestWorker({ connection, pool }, { taskQueue, replaced: faults });
  const api = await startTestApi({ client, pool, actors: { taskQueue } });
  try {
    await worker.runUntil(scenario(apiFor(api.baseUrl)));
  } finally {
    await api.close();
  }
}

async function setUp(api: ApiClient) {
  const productId = await createProduct(pool, 'Lamp', 500);
  await api.POST('/products/{productId}/stock', { params: { path: { productId } }, body: { quantity: 4 } });
  const customerId = uniqueId('cust');
  await api.POST('/accounts/{customerId}/deposits', { params: { path: { customerId } }, body: { amountCents: 2000 } });
  const orderId = uniqueId('order');
  await api.POST('/orders', { body: { orderId, customerId, shippingAddress: sampleAddress } });
  await api.POST('/orders/{orderId}/items', { params: { path: { orderId } }, body: { productId, quantity: 2 } });
  return { productId, customerId, orderId };
}

test('commit fails 3 times with a technical error, then succeeds: the checkout completes', async () => {
  const real = createActivities(pool);
  const commit = failing(3, real.commitReservation);
  await withFaultyWorker({ commitReservation: commit }, async (api) => {
    const { productId, customerId, orderId } = await setUp(api);
    const outcome = await api.POST('/orders/{orderId}/checkout', { params: { path: { orderId }, query: { wait: 'true', timeout: 30 } } });
    expect(outcome.data).toMatchObject({ status: 'CONFIRMED' });
    expect(commit.calls()).toBe(4);
    expect((await api.GET('/inventory/{productId}', { params: { path: { productId } } })).data).toMatchObject({ onHand: 2, reserved: 0 });
    expect((await api.GET('/accounts/{customerId}', { params: { path: { customerId }, query: { consistency: 'strong' } } })).data!.balanceCents).toBe(1000);
  });
});

test('a compensation that fails 3 times is retried until done, and the events say what was undone', async () => {
  const real = createActivities(pool);
  // Commit refuses for good after the debit, so the saga must refund and release.
  const commit = async () => {
    throw ApplicationFailure.nonRetryable('the reservation was released meanwhile', 'RESERVATION_RELEASED');
  };
  const refund = failing(3, real.refundPayment);
  await withFaultyWorker({ commitReservation: commit, refundPayment: refund }, async (api) => {
    const { productId, customerId, orderId } = await setUp(api);
    const outcome = await api.POST('/orders/{orderId}/checkout', { params: { path: { orderId }, query: { wait: 'true', timeout: 30 } } });
    expect(outcome.data).toMatchObject({ status: 'PENDING', lastCheckoutFailure: { code: 'RESERVATION_RELEASED' } });
    expect(refund.calls()).toBe(4);
    expect((await api.GET('/accounts/{customerId}', { params: { path: { customerId }, query: { consistency: 'strong' } } })).data!.balanceCents).toBe(2000);
    expect((await api.GET('/inventory/{productId}', { params: { path: { productId } } })).data).toMatchObject({ onHand: 4, reserved: 0, available: 4 });
    const failed = (await api.GET('/orders/{orderId}/events', { params: { path: { orderId } } })).data!.events.at(-1);
    expect(failed).toMatchObject({ type: 'CheckoutFailed', data: { compensations: ['refund 1000 cents', `released stock of ${productId}`] } });
  });
});

test('a commit that happened but timed out, then the forward path fails: that line is returned, the other released, all refunded', async () => {
  const real = createActivities(pool);
  // Retryable, as a timeout is; a short delay keeps the saga's attempts quick.
  const commit = happensButFails(Infinity, real.commitReservation, () =>
    ApplicationFailure.create({ message: 'timed out after committing', type: 'SimulatedTimeout', nextRetryDelay: '10 ms' }),
  );
  await withFaultyWorker({ commitReservation: commit }, async (api) => {
    const { productId: lamp, customerId, orderId } = await setUp(api);
    const mug = await createProduct(pool, 'Mug', 250);
    await api.POST('/products/{productId}/stock', { params: { path: { productId: mug } }, body: { quantity: 3 } });
    await api.POST('/orders/{orderId}/items', { params: { path: { orderId } }, body: { productId: mug, quantity: 1 } });

    const outcome = await api.POST('/orders/{orderId}/checkout', { params: { path: { orderId }, query: { wait: 'true', timeout: 30 } } });
    expect(outcome.data).toMatchObject({ status: 'PENDING', lastCheckoutFailure: { code: 'CHECKOUT_FAILED' } });
    // The lamp's commit happened on the first attempt and was never acknowledged (3 local attempts, then
    // the regular activity's 8); the mug's never ran.
    expect(commit.calls()).toBe(11);
    const undone = ['refund 1250 cents', `released stock of ${mug}`, `returned stock of ${lamp}`];
    const failed = (await api.GET('/orders/{orderId}/events', { params: { path: { orderId } } })).data!.events.at(-1);
    expect(failed).toMatchObject({ type: 'CheckoutFailed', data: { code: 'CHECKOUT_FAILED', compensations: undone } });

    expect((await api.GET('/inventory/{productId}', { params: { path: { productId: lamp } } })).data).toMatchObject({ onHand: 4, reserved: 0, available: 4 });
    expect((await api.GET('/inventory/{productId}', { params: { path: { productId: mug } } })).data).toMatchObject({ onHand: 3, reserved: 0, available: 3 });
    expect((await readStream(pool, stockStreamId(lamp))).map((e) => e.type)).toEqual(['StockRestocked', 'StockReserved', 'StockCommitted', 'StockReturned']);
    expect((await api.GET('/accounts/{customerId}', { params: { path: { customerId }, query: { consistency: 'strong' } } })).data!.balanceCents).toBe(2000);
  });
});

test('checkout?wait past its timeout answers 202 PLACED; a retry with the same key waits for the outcome', async () => {
  const real = createActivities(pool);
  // The commit fails its 3 local attempts (a Postgres blip), so the step falls back to the regular
  // activity: that ends the task running the saga, and with it PlaceOrder is answered. The regular
  // attempt then takes 3 s, past the impatient client's 1 s.
  let calls = 0;
  const slowCommit = async (...args: Parameters<typeof real.commitReservation>) => {
    if (++calls <= 3) throw new Error('connection terminated');
    await new Promise((resolve) => setTimeout(resolve, 3000));
    return real.commitReservation(...args);
  };
  await withFaultyWorker({ commitReservation: slowCommit }, async (api) => {
    const { orderId } = await setUp(api);
    const key = uniqueId('checkout');
    const checkout = (timeout: number) =>
      api.POST('/orders/{orderId}/checkout', { params: { path: { orderId }, query: { wait: 'true', timeout }, header: { 'Idempotency-Key': key } } });
    const impatient = await checkout(1);
    expect(statusAndBody(impatient)).toMatchObject({ status: 202, body: { status: 'PLACED', commandId: key } });
    const patient = await checkout(30);
    expect(statusAndBody(patient)).toMatchObject({ status: 200, body: { status: 'CONFIRMED', checkoutAttempts: 1 } });
    const types = (await api.GET('/orders/{orderId}/events', { params: { path: { orderId } } })).data!.events.map((e) => e.type);
    expect(types.filter((t) => t === 'OrderPlaced')).toHaveLength(1);
  });
});
