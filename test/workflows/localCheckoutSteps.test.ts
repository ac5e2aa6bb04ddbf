import { ApplicationFailure } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import fc from 'fast-check';
import { createActivities } from '../../src/activities';
import type { CheckoutActivities } from '../../src/activities/checkoutActivities';
import type { Pool } from '../../src/db/pool';
import { orderWorkflowId } from '../../src/workflows/orderContract';
import { failing, happensButFails } from '../support/faults';
import type { ApiClient } from '../../src/client';
import { apiFor, createProduct, createTestWorker, startTestApi, uniqueId, useWorkerConnections } from '../support/harness';
import { sampleAddress } from '../support/orders';
import { readStream } from '../../src/application/eventStore';
import { orderStreamId } from '../../src/domain/order';
import { localActivityOf, scheduledActivities } from '../support/historyEvents';

/*
 * The saga's steps run as local activities (patch `local-checkout-steps`): an outage longer than
 * the local attempts falls back to the regular activity with the same keys, so a step that
 * happened but was never acknowledged still acts once; an undo still runs until it succeeds; a
 * business refusal ends the forward path at once, with no fallback.
 */

let client: Client;
let pool: Pool;
let connection: NativeConnection;
useWorkerConnections((opened) => ({ client, pool, connection } = opened));

/** Real activities on a queue of its own, some replaced, behind the real API; checks out one order and returns its actor's history, which runs the saga. */
async function checkOutWith(
  replaced: Partial<CheckoutActivities>,
  depositCents: number,
  check: (api: ApiClient, ids: { productId: string; customerId: string; orderId: string }) => Promise<void>,
) {
  const taskQueue = uniqueId('local-saga');
  const worker = await createTestWorker({ connection, pool }, { taskQueue, replaced });
  const served = await startTestApi({ client, pool, actors: { taskQueue } });
  const api = apiFor(served.baseUrl);
  try {
    return await worker.runUntil(async () => {
      const productId = await createProduct(pool, 'Lamp', 500);
      await api.POST('/products/{productId}/stock', { params: { path: { productId } }, body: { quantity: 4 } });
      const customerId = uniqueId('cust');
      await api.POST('/accounts/{customerId}/deposits', { params: { path: { customerId } }, body: { amountCents: depositCents } });
      const orderId = uniqueId('order');
      await api.POST('/orders', { body: { orderId, customerId, shippingAddress: sampleAddress } });
      await api.POST('/orders/{orderId}/items', { params: { path: { orderId } }, body: { productId, quantity: 2 } });
      await check(api, { productId, customerId, orderId });
      return client.workflow.getHandle(orderWorkflowId(orderId)).fetchHistory();
    });
  } finally {
    await served.close();
  }
}

type Events = NonNullable<Awaited<ReturnType<typeof checkOutWith>>['events']>;
const SAGA_STEPS = new Set<string>(['reserveStock', 'debitAccount', 'commitReservation', 'refundPayment', 'giveBackReservation']);
/** The saga's part of the actor's history, from its first step: its local steps by name and its timers (the cart's timer and the order's own steps left out). */
function sagaRecord(events: Events): string[] {
  const kinds = events.flatMap((e) => (e.timerStartedEventAttributes ? ['timer'] : (localActivityOf(e) ?? [])));
  return kinds.slice(kinds.indexOf('reserveStock')).filter((kind) => kind === 'timer' || SAGA_STEPS.has(kind));
}
const timers = (events: Events) => sagaRecord(events).filter((kind) => kind === 'timer').length;

const outage = () => new Error('connection terminated');

/** A commit refused for good after the debit: the saga must undo both the payment and the reservation. */
const reservationReleasedMeanwhile = async () => {
  throw ApplicationFailure.nonRetryable('the reservation was released meanwhile', 'RESERVATION_RELEASED');
};

/** The customer has all 2000 cents back and the 4 lamps are all available again. */
async function expectEverythingGivenBack(api: ApiClient, { productId, customerId }: { productId: string; customerId: string }): Promise<void> {
  expect((await api.GET('/accounts/{customerId}', { params: { path: { customerId }, query: { consistency: 'strong' } } })).data!.balanceCents).toBe(2000);
  expect((await api.GET('/inventory/{productId}', { params: { path: { productId } } })).data).toMatchObject({ onHand: 4, reserved: 0, available: 4 });
}

test('a debit that happened but whose answer is lost, for any number of attempts: local first, then the regular activity with the same payment id; the money is taken once', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: 5 }), async (lost) => {
      const debit = happensButFails(lost, createActivities(pool).debitAccount, outage);
      const history = await checkOutWith({ debitAccount: debit }, 2000, async (api, { productId, customerId, orderId }) => {
        const outcome = await api.POST('/orders/{orderId}/checkout', { params: { path: { orderId }, query: { wait: 'true', timeout: 30 } } });
        expect(outcome.data).toMatchObject({ status: 'CONFIRMED' });
        expect(debit.calls()).toBe(lost + 1);
        expect((await api.GET('/accounts/{customerId}', { params: { path: { customerId }, query: { consistency: 'strong' } } })).data!.balanceCents).toBe(1000);
        expect((await api.GET('/inventory/{productId}', { params: { path: { productId } } })).data).toMatchObject({ onHand: 2, reserved: 0 });
      });
      // Three local attempts, then one regular activity (its retries are the server's, in one scheduled event).
      expect(scheduledActivities(history.events!)).toEqual(lost >= 3 ? ['debitAccount'] : []);
    }),
    { numRuns: 4, examples: [[3]] },
  );
});

/**
 * A checkout whose commit is refused after the debit, with `giveBackReservation` standing in for
 * the undo: the order is back to PENDING, the undo ran `calls` times, everything is given back,
 * and `then` checks what else it needs. Returns the saga's history.
 */
function refusedCommitGivenBack(
  giveBackReservation: CheckoutActivities['giveBackReservation'] & { calls(): number },
  calls: number,
  then: (orderId: string, productId: string) => Promise<void> = async () => undefined,
) {
  return checkOutWith({ commitReservation: reservationReleasedMeanwhile, giveBackReservation }, 2000, async (api, { productId, customerId, orderId }) => {
    const outcome = await api.POST('/orders/{orderId}/checkout', { params: { path: { orderId }, query: { wait: 'true', timeout: 30 } } });
    expect(outcome.data).toMatchObject({ status: 'PENDING', lastCheckoutFailure: { code: 'RESERVATION_RELEASED' } });
    expect(giveBackReservation.calls()).toBe(calls);
    await expectEverythingGivenBack(api, { productId, customerId });
    await then(orderId, productId);
  });
}

test('an undo through a Postgres outage falls back to the regular activity and runs until it succeeds: everything is given back', async () => {
  const real = createActivities(pool);
  const giveBackReservation = failing(6, real.giveBackReservation, outage);
  const history = await refusedCommitGivenBack(giveBackReservation, 7, async (orderId, productId) => {
    const failed = (await readStream(pool, orderStreamId(orderId))).at(-1);
    expect(failed).toMatchObject({ type: 'CheckoutFailed', data: { compensations: ['refund 1000 cents', `released stock of ${productId}`] } });
  });
  expect(scheduledActivities(history.events!)).toEqual(['giveBackReservation']);
});

test('an undo refused by its local activity is retried after a durable pause, not dropped', async () => {
  const real = createActivities(pool);
  // Non-retryable: no local retry and no fallback, so the refusal reaches the saga's own loop.
  const giveBackReservation = failing(1, real.giveBackReservation, () => ApplicationFailure.nonRetryable('a bug refuses the undo', 'UNDO_BUG'));
  const history = await refusedCommitGivenBack(giveBackReservation, 2);
  expect(scheduledActivities(history.events!)).toEqual([]);
  // The checkpoint before compensating, then the pause after the refusal.
  expect(timers(history.events!)).toBe(2);
});

test('a business refusal ends the forward path at once (one local debit, no fallback) and is recorded before the stock is released locally', async () => {
  const debit = failing(0, createActivities(pool).debitAccount);
  const history = await checkOutWith({ debitAccount: debit }, 100, async (api, { productId, orderId }) => {
    const outcome = await api.POST('/orders/{orderId}/checkout', { params: { path: { orderId }, query: { wait: 'true', timeout: 30 } } });
    expect(outcome.data).toMatchObject({ status: 'PENDING', lastCheckoutFailure: { code: 'INSUFFICIENT_FUNDS' } });
    expect((await api.GET('/inventory/{productId}', { params: { path: { productId } } })).data).toMatchObject({ onHand: 4, reserved: 0, available: 4 });
  });
  expect(debit.calls()).toBe(1);
  expect(scheduledActivities(history.events!)).toEqual([]);
  // The refusal is in the history before anything is given back: a worker killed while
  // compensating leaves a rerun that knows why it failed, instead of one meeting its own tombstones.
  expect(sagaRecord(history.events!)).toEqual(['reserveStock', 'debitAccount', 'timer', 'refundPayment', 'giveBackReservation']);
});
