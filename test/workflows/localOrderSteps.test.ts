import { ApplicationFailure } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { createActivities } from '../../src/activities';
import type { OrderActivities } from '../../src/activities/orderActivities';
import type { Pool } from '../../src/db/pool';
import { commandUpdates } from '../../src/workflows/orderContract';
import { createProduct, createTestWorker, uniqueId, useWorkerConnections } from '../support/harness';
import { failing } from '../support/faults';
import { localActivities, scheduledActivities } from '../support/historyEvents';
import { sampleAddress, startOrderActor } from '../support/orders';

/*
 * The actor's Postgres steps run as local activities (patch `local-order-steps`): a blip is
 * retried in the workflow task, a longer outage falls back to the regular activity, and a
 * failure that retrying cannot fix fails the command at once on both.
 */

let client: Client;
let pool: Pool;
let connection: NativeConnection;
useWorkerConnections((opened) => ({ client, pool, connection } = opened));

/** Real order activities on a queue of their own, some replaced; returns the order's history once `scenario` is done. */
async function withWorker(replaced: Partial<OrderActivities>, scenario: (orderId: string, taskQueue: string) => Promise<void>) {
  const taskQueue = uniqueId('local-steps');
  const worker = await createTestWorker({ connection, pool }, { taskQueue, replaced });
  const orderId = uniqueId('local-steps');
  return worker.runUntil(async () => {
    await scenario(orderId, taskQueue);
    return client.workflow.getHandle(`order-${orderId}`).fetchHistory();
  });
}

test('a step runs locally; one that still fails after its local attempts falls back to the regular activity, and the command is answered', async () => {
  const productId = await createProduct(pool, 'Kettle', 1999);
  const real = createActivities(pool);
  // Three local attempts fail, then the regular activity's first attempt; its second succeeds.
  const decidePricedOrderCommand = failing(4, real.decidePricedOrderCommand, () => new Error('connection terminated'));
  const history = await withWorker({ decidePricedOrderCommand }, async (orderId, taskQueue) => {
    const handle = await startOrderActor(client, orderId, {}, taskQueue);
    await handle.executeUpdate(commandUpdates.CreateOrder, { args: [{ commandId: 'create', orderId, customerId: 'c-local' }] });
    const added = await handle.executeUpdate(commandUpdates.AddItem, { args: [{ commandId: 'add', productId, quantity: 2 }] });
    expect(added).toMatchObject({ status: 'accepted', version: 2, events: ['OrderItemAdded'] });
    await handle.terminate('test done');
  });
  expect(decidePricedOrderCommand.calls()).toBe(5);
  // Only the failed add reached the server as an activity; the create's append and the add's local failure are markers.
  expect(scheduledActivities(history.events!)).toEqual(['decidePricedOrderCommand']);
  expect(localActivities(history.events!)).toEqual(['appendOrderEvents', 'decidePricedOrderCommand']);
});

test('an add item and a checkout each take one step: the catalog look-up, the decision and the append together', async () => {
  const productId = await createProduct(pool, 'Lamp', 500);
  const history = await withWorker({}, async (orderId, taskQueue) => {
    const handle = await startOrderActor(client, orderId, {}, taskQueue);
    const create = { commandId: 'create', orderId, customerId: 'c-one-step', shippingAddress: sampleAddress };
    await handle.executeUpdate(commandUpdates.CreateOrder, { args: [create] });
    await handle.executeUpdate(commandUpdates.AddItem, { args: [{ commandId: 'add', productId, quantity: 2 }] });
    const placed = await handle.executeUpdate(commandUpdates.PlaceOrder, { args: [{ commandId: 'place', expectedTotalCents: 1000 }] });
    expect(placed).toMatchObject({ status: 'accepted', version: 3, orderStatus: 'PLACED' });
    await handle.terminate('test done');
  });
  expect(scheduledActivities(history.events!)).toEqual([]);
  // Since `checkout-in-actor` the saga's steps follow in the same history: here its first reserve (refused, the lamp has no stock).
  const steps = localActivities(history.events!);
  expect(steps.slice(0, 4)).toEqual(['appendOrderEvents', 'decidePricedOrderCommand', 'decidePricedOrderCommand', 'reserveStock']);
});

test('a stream conflict fails the command at once: no local retry, no regular fallback', async () => {
  const appendOrderEvents = failing(Infinity, createActivities(pool).appendOrderEvents, () =>
    // Not marked non-retryable here: the retry policy's nonRetryableErrorTypes must stop it.
    ApplicationFailure.create({ message: 'expected version 0, found 1', type: 'WrongExpectedVersion' }),
  );
  const history = await withWorker({ appendOrderEvents }, async (orderId, taskQueue) => {
    const handle = await startOrderActor(client, orderId, {}, taskQueue);
    await expect(
      handle.executeUpdate(commandUpdates.CreateOrder, { args: [{ commandId: 'create', orderId, customerId: 'c-conflict' }] }),
    ).rejects.toMatchObject({
      cause: { type: 'COMMAND_FAILED' },
    });
    await handle.terminate('test done');
  });
  expect(appendOrderEvents.calls()).toBe(1);
  expect(scheduledActivities(history.events!)).toEqual([]);
});
