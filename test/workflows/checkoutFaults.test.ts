import { ApplicationFailure } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { createActivities } from '../../src/activities';
import type { CheckoutActivities } from '../../src/activities/checkoutActivities';
import type { Pool } from '../../src/db/pool';
import { stockStreamId } from '../../src/domain/stock';
import { checkoutWorkflowId } from '../../src/workflows/checkout';
import { createProduct, createTestWorker, type RawCall, rawHttp, startTestApi, uniqueId, useWorkerConnections } from '../support/harness';
import { failing, happensButFails } from '../support/faults';
import { sampleAddress } from '../support/orders';
import { readStream } from '../../src/application/eventStore';

let client: Client;
let pool: Pool;
let connection: NativeConnection;
useWorkerConnections((opened) => ({ client, pool, connection } = opened));

/** Real activities on a queue of its own, with some steps replaced by a faulty version. */
async function withFaultyWorker(faults: Partial<CheckoutActivities>, scenario: (call: RawCall) => Promise<void>) {
  const taskQueue = uniqueId('faulty');
  const worker = await createTestWorker({ connection, pool }, { taskQueue, replaced: faults });
  const api = await startTestApi({ client, pool, actors: { taskQueue } });
  try {
    await worker.runUntil(scenario((method, path, options) => rawHttp(api.baseUrl, method, path, options)));
  } finally {
    await api.close();
  }
}

async function setUp(call: RawCall) {
  const productId = await createProduct(pool, 'Lamp', 500);
  await call('POST', `/products/${productId}/stock`, { body: { quantity: 4 } });
  const customerId = uniqueId('cust');
  await call('POST', `/accounts/${customerId}/deposits`, { body: { amountCents: 2000 } });
  const orderId = uniqueId('order');
  await call('POST', '/orders', { body: { orderId, customerId, shippingAddress: sampleAddress } });
  await call('POST', `/orders/${orderId}/items`, { body: { productId, quantity: 2 } });
  return { productId, customerId, orderId };
}

test('commit fails 3 times with a technical error, then succeeds: the checkout completes', async () => {
  const real = createActivities(pool);
  const commit = failing(3, real.commitReservation);
  await withFaultyWorker({ commitReservation: commit }, async (call) => {
    const { productId, customerId, orderId } = await setUp(call);
    const outcome = await call('POST', `/orders/${orderId}/checkout?wait=true&timeout=30`);
    expect(outcome.body).toMatchObject({ status: 'CONFIRMED' });
    expect(commit.calls()).toBe(4);
    expect((await call('GET', `/inventory/${productId}`)).body).toMatchObject({ onHand: 2, reserved: 0 });
    expect((await call('GET', `/accounts/${customerId}?consistency=strong`)).body.balanceCents).toBe(1000);
  });
});

test('a compensation that fails 3 times is retried until done, and the events say what was undone', async () => {
  const real = createActivities(pool);
  // Commit refuses for good after the debit, so the saga must refund and release.
  const commit = async () => {
    throw ApplicationFailure.nonRetryable('the reservation was released meanwhile', 'RESERVATION_RELEASED');
  };
  const refund = failing(3, real.refundPayment);
  await withFaultyWorker({ commitReservation: commit, refundPayment: refund }, async (call) => {
    const { productId, customerId, orderId } = await setUp(call);
    const outcome = await call('POST', `/orders/${orderId}/checkout?wait=true&timeout=30`);
    expect(outcome.body).toMatchObject({ status: 'PENDING', lastCheckoutFailure: { code: 'RESERVATION_RELEASED' } });
    expect(refund.calls()).toBe(4);
    expect((await call('GET', `/accounts/${customerId}?consistency=strong`)).body.balanceCents).toBe(2000);
    expect((await call('GET', `/inventory/${productId}`)).body).toMatchObject({ onHand: 4, reserved: 0, available: 4 });
    const failed = (await call('GET', `/orders/${orderId}/events`)).body.events.at(-1);
    expect(failed).toMatchObject({ type: 'CheckoutFailed', data: { compensations: ['refund 1000 cents', `released stock of ${productId}`] } });
  });
});

test('a commit that happened but timed out, then the forward path fails: that line is returned, the other released, all refunded', async () => {
  const real = createActivities(pool);
  // Retryable, as a timeout is; a short delay keeps the saga's attempts quick.
  const commit = happensButFails(Infinity, real.commitReservation, () =>
    ApplicationFailure.create({ message: 'timed out after committing', type: 'SimulatedTimeout', nextRetryDelay: '10 ms' }),
  );
  await withFaultyWorker({ commitReservation: commit }, async (call) => {
    const { productId: lamp, customerId, orderId } = await setUp(call);
    const mug = await createProduct(pool, 'Mug', 250);
    await call('POST', `/products/${mug}/stock`, { body: { quantity: 3 } });
    await call('POST', `/orders/${orderId}/items`, { body: { productId: mug, quantity: 1 } });

    const outcome = await call('POST', `/orders/${orderId}/checkout?wait=true&timeout=30`);
    expect(outcome.body).toMatchObject({ status: 'PENDING', lastCheckoutFailure: { code: 'CHECKOUT_FAILED' } });
    // The lamp's commit happened on the first attempt and was never acknowledged (3 local attempts, then
    // the regular activity's 8); the mug's never ran.
    expect(commit.calls()).toBe(11);
    const undone = ['refund 1250 cents', `released stock of ${mug}`, `returned stock of ${lamp}`];
    const report = await client.workflow.getHandle(checkoutWorkflowId(orderId, 1)).result();
    expect(report).toMatchObject({ outcome: 'failed', code: 'CHECKOUT_FAILED', compensations: undone });
    const failed = (await call('GET', `/orders/${orderId}/events`)).body.events.at(-1);
    expect(failed).toMatchObject({ type: 'CheckoutFailed', data: { code: 'CHECKOUT_FAILED', compensations: undone } });

    expect((await call('GET', `/inventory/${lamp}`)).body).toMatchObject({ onHand: 4, reserved: 0, available: 4 });
    expect((await call('GET', `/inventory/${mug}`)).body).toMatchObject({ onHand: 3, reserved: 0, available: 3 });
    expect((await readStream(pool, stockStreamId(lamp))).map((e) => e.type)).toEqual(['StockRestocked', 'StockReserved', 'StockCommitted', 'StockReturned']);
    expect((await call('GET', `/accounts/${customerId}?consistency=strong`)).body.balanceCents).toBe(2000);
  });
});

test('a saga stopped from outside mid-checkout: the order gives back what it took before it records CHECKOUT_ABORTED', async () => {
  let reachedCommit!: () => void;
  const atCommit = new Promise<void>((resolve) => (reachedCommit = resolve));
  let letGo!: () => void;
  const stopped = new Promise<void>((resolve) => (letGo = resolve));
  // Holds the saga between its debit and its commit, until the test has terminated it.
  const commitReservation = async () => {
    reachedCommit();
    await stopped;
    throw new Error('the saga was terminated meanwhile');
  };
  await withFaultyWorker({ commitReservation }, async (call) => {
    const { productId, customerId, orderId } = await setUp(call);
    expect((await call('POST', `/orders/${orderId}/checkout`)).status).toBe(202);
    await atCommit;
    await client.workflow.getHandle(checkoutWorkflowId(orderId, 1)).terminate('test: an operator stops the saga');
    letGo();
    let order = (await call('GET', `/orders/${orderId}?consistency=strong`)).body;
    for (let i = 0; i < 100 && order.status === 'PLACED'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      order = (await call('GET', `/orders/${orderId}?consistency=strong`)).body;
    }
    expect(order).toMatchObject({ status: 'PENDING', lastCheckoutFailure: { code: 'CHECKOUT_ABORTED' } });
    const failed = (await call('GET', `/orders/${orderId}/events`)).body.events.at(-1);
    expect(failed).toMatchObject({
      type: 'CheckoutFailed',
      data: { code: 'CHECKOUT_ABORTED', compensations: ['refund payment', `released stock of ${productId}`] },
    });
    expect((await call('GET', `/inventory/${productId}`)).body).toMatchObject({ onHand: 4, reserved: 0, available: 4 });
    expect((await call('GET', `/accounts/${customerId}?consistency=strong`)).body.balanceCents).toBe(2000);
  });
});

test('checkout?wait gives up after its timeout with 202 PLACED; a retry with the same key waits for the outcome', async () => {
  const real = createActivities(pool);
  const slowCommit = async (...args: Parameters<typeof real.commitReservation>) => {
    await new Promise((resolve) => setTimeout(resolve, 3000));
    return real.commitReservation(...args);
  };
  await withFaultyWorker({ commitReservation: slowCommit }, async (call) => {
    const { orderId } = await setUp(call);
    const headers = { 'idempotency-key': uniqueId('checkout') };
    const impatient = await call('POST', `/orders/${orderId}/checkout?wait=true&timeout=1`, { headers });
    expect(impatient).toMatchObject({ status: 202, body: { status: 'PLACED', commandId: headers['idempotency-key'] } });
    const patient = await call('POST', `/orders/${orderId}/checkout?wait=true&timeout=30`, { headers });
    expect(patient).toMatchObject({ status: 200, body: { status: 'CONFIRMED', checkoutAttempts: 1 } });
    const types = (await call('GET', `/orders/${orderId}/events`)).body.events.map((e: { type: string }) => e.type);
    expect(types.filter((t: string) => t === 'OrderPlaced')).toHaveLength(1);
  });
});
