import type { Client } from '@temporalio/client';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { Pool } from '../../src/db/pool';
import { commandUpdates, type OrderCommandInput } from '../../src/workflows/orderContract';
import { orderStreamId } from '../../src/domain/order';
import { createProduct, testClient, testPool, uniqueId } from '../support/harness';
import { startOrderActor } from '../support/orders';
import { readStream } from '../../src/application/eventStore';

/* The actor's ledger against keys a client chooses: internal-looking ones, floods, forgotten ones. */
let client: Client;
let pool: Pool;
let productId: string;

beforeAll(async () => {
  client = await testClient();
  pool = testPool();
  productId = await createProduct(pool, 'Cup', 300);
});

afterAll(async () => {
  await client.connection.close();
  await pool.end();
});

async function eventTypes(orderId: string): Promise<string[]> {
  return (await readStream(pool, orderStreamId(orderId))).map((e) => e.type);
}

const add = (commandId: string, quantity = 1): { args: [OrderCommandInput<'AddItem'>] } => ({ args: [{ commandId, productId, quantity }] });

test('a cart expires even when its commands were keyed like its expiry', async () => {
  const orderId = uniqueId('expire');
  const handle = await startOrderActor(client, orderId, { cartTtlMs: 1500 });
  // The expiry of a cart at version v was `expire-<v>`, and is `internal:expire:<v>` now.
  await handle.executeUpdate(commandUpdates.CreateOrder, { args: [{ commandId: 'expire-1', orderId, customerId: 'c-expire' }] });
  await handle.executeUpdate(commandUpdates.AddItem, add('expire-2'));
  await handle.executeUpdate(commandUpdates.AddItem, add('internal:expire:3'));
  const { state, version } = await handle.result();
  expect({ status: state.status, version }).toEqual({ status: 'EXPIRED', version: 4 });
  expect(await eventTypes(orderId)).toEqual(['OrderCreated', 'OrderItemAdded', 'OrderItemAdded', 'OrderExpired']);
});

test('rejections cannot push an accepted key out of the ledger', async () => {
  const orderId = uniqueId('flood');
  const handle = await startOrderActor(client, orderId, { ledgerCapacity: 3 });
  await handle.executeUpdate(commandUpdates.CreateOrder, { args: [{ commandId: 'create', orderId, customerId: 'c-flood' }] });
  const first = await handle.executeUpdate(commandUpdates.AddItem, add('K'));
  for (let i = 0; i < 10; i++) {
    await expect(handle.executeUpdate(commandUpdates.RemoveItem, { args: [{ commandId: `nothere-${i}`, productId: 'nothere' }] })).rejects.toThrow(
      WorkflowUpdateFailedError,
    );
  }
  expect(await handle.executeUpdate(commandUpdates.AddItem, add('K'))).toEqual(first);
  expect(await eventTypes(orderId)).toEqual(['OrderCreated', 'OrderItemAdded']);
});

test('a key the ledger has dropped is answered from the stream, never acted on twice', async () => {
  const orderId = uniqueId('forgot');
  const handle = await startOrderActor(client, orderId, { ledgerCapacity: 2 });
  await handle.executeUpdate(commandUpdates.CreateOrder, { args: [{ commandId: 'create', orderId, customerId: 'c-forgot' }] });
  const first = await handle.executeUpdate(commandUpdates.AddItem, add('K', 2));
  for (const key of ['a', 'b', 'c']) await handle.executeUpdate(commandUpdates.AddItem, add(key));
  // K has left the ledger; the stream still says what it did.
  expect(await handle.executeUpdate(commandUpdates.AddItem, add('K', 2))).toEqual(first);
  const reused = handle.executeUpdate(commandUpdates.AddItem, add('K', 5));
  await expect(reused).rejects.toThrow(WorkflowUpdateFailedError);
  await reused.catch((err: WorkflowUpdateFailedError) => expect(err.cause).toMatchObject({ type: 'IDEMPOTENCY_KEY_REUSED' }));
  expect(await eventTypes(orderId)).toEqual(['OrderCreated', 'OrderItemAdded', 'OrderItemAdded', 'OrderItemAdded', 'OrderItemAdded']);
});
