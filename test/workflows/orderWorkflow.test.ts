import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { Pool } from '../../src/db/pool';
import { findTemporalCli } from '../../src/devstack/temporalCli';
import { orderDecider, orderStreamId } from '../../src/domain/order';
import { commandSignals, commandUpdates, getCommandOutcomeQuery, getOrderQuery } from '../../src/workflows/orderContract';
import { createProduct, testClient, testEnv, testPool, uniqueId } from '../support/harness';
import { sampleAddress, startOrderActor } from '../support/orders';
import { readStream } from '../../src/application/eventStore';
import { foldRecorded } from '../../src/application/foldStream';

let client: Client;
let pool: Pool;
let productId: string;

beforeAll(async () => {
  client = await testClient();
  pool = testPool();
  productId = await createProduct(pool, 'Teapot', 2999);
});

afterAll(async () => {
  await client.connection.close();
  await pool.end();
});

async function stream(orderId: string) {
  return readStream(pool, orderStreamId(orderId));
}

test('continue-as-new carries state, version and the command ledger into the next run', async () => {
  const orderId = uniqueId('can');
  const handle = await startOrderActor(client, orderId, { historyLimit: 40 });
  await handle.executeUpdate(commandUpdates.CreateOrder, { args: [{ commandId: 'create', orderId, customerId: 'c-can' }] });
  // Each accepted add is an update plus an append activity: a few of them pass the limit.
  for (let i = 1; i <= 8; i++) {
    await handle.executeUpdate(commandUpdates.AddItem, { args: [{ commandId: `add-${i}`, productId, quantity: 1 }] });
  }
  const latest = client.workflow.getHandle(handle.workflowId);
  const description = await latest.describe();
  expect(description.runId).not.toBe(handle.firstExecutionRunId);

  const snapshot = await latest.query(getOrderQuery);
  expect(snapshot.version).toBe(9);
  expect(snapshot.state.items).toEqual([{ productId, name: 'Teapot', unitPriceCents: 2999, quantity: 8 }]);

  // A command id answered by an earlier run gets its first answer again, and appends nothing.
  const repeated = await latest.executeUpdate(commandUpdates.AddItem, { args: [{ commandId: 'add-1', productId, quantity: 1 }] });
  expect(repeated).toMatchObject({ status: 'accepted', version: 2 });
  expect(await latest.query(getCommandOutcomeQuery, 'create')).toMatchObject({ status: 'accepted', version: 1 });
  expect((await stream(orderId)).length).toBe(9);
  expect(foldRecorded(orderDecider, await stream(orderId))).toEqual((await latest.query(getOrderQuery)).state);
});

test('a PENDING order expires after the cart TTL of inactivity, and the actor completes', async () => {
  const orderId = uniqueId('expiry');
  const handle = await startOrderActor(client, orderId, { cartTtlMs: 1500 });
  await handle.executeUpdate(commandUpdates.CreateOrder, { args: [{ commandId: 'create', orderId, customerId: 'c-exp' }] });
  const result = await handle.result();
  expect(result.state.status).toBe('EXPIRED');
  expect((await stream(orderId)).map((e) => e.type)).toEqual(['OrderCreated', 'OrderExpired']);
});

test('a command keeps a PENDING order alive: the TTL counts from the last command', async () => {
  const orderId = uniqueId('keepalive');
  const handle = await startOrderActor(client, orderId, { cartTtlMs: 2000 });
  await handle.executeUpdate(commandUpdates.CreateOrder, { args: [{ commandId: 'create', orderId, customerId: 'c-alive' }] });
  await new Promise((r) => setTimeout(r, 1200));
  await handle.executeUpdate(commandUpdates.AddItem, { args: [{ commandId: 'add', productId, quantity: 1 }] });
  await new Promise((r) => setTimeout(r, 1200));
  // 2.4 s after creation, but only 1.2 s after the last command: still open.
  expect((await handle.query(getOrderQuery)).state.status).toBe('PENDING');
  expect((await handle.result()).state.status).toBe('EXPIRED');
});

test('refused commands do not keep a cart open: it expires while they keep coming', async () => {
  const orderId = uniqueId('refused-keepalive');
  const handle = await startOrderActor(client, orderId, { cartTtlMs: 1500 });
  await handle.executeUpdate(commandUpdates.CreateOrder, { args: [{ commandId: 'create', orderId, customerId: 'c-refused' }] });
  // A refused command every 300 ms, until the order closes or 40 were sent (the TTL is long gone by then).
  let sent = 0;
  while (sent < 40 && (await handle.describe()).status.name === 'RUNNING') {
    await handle.executeUpdate(commandUpdates.RemoveItem, { args: [{ commandId: `nothere-${sent++}`, productId: 'nothere' }] }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 300));
  }
  expect({ closedWhileRefusing: sent < 40, status: (await handle.result()).state.status }).toEqual({ closedWhileRefusing: true, status: 'EXPIRED' });
});

test('the update validator refuses a malformed command before it reaches the history', async () => {
  const orderId = uniqueId('validator');
  const handle = await startOrderActor(client, orderId);
  await handle.executeUpdate(commandUpdates.CreateOrder, { args: [{ commandId: 'create', orderId, customerId: 'c-val' }] });
  const malformed = { commandId: 'bad', productId, quantity: 'two' } as unknown as { commandId: string; productId: string; quantity: number };
  const error = await handle.executeUpdate(commandUpdates.AddItem, { args: [malformed] }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(WorkflowUpdateFailedError);
  expect((error as WorkflowUpdateFailedError).cause).toMatchObject({ type: 'INVALID_COMMAND' });
  const history = await handle.fetchHistory();
  const accepted = history.events?.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes) ?? [];
  expect(accepted).toHaveLength(1); // only the CreateOrder
  expect((await stream(orderId)).length).toBe(1);
});

test('a command signalled with the Temporal CLI is decided and appended to Postgres', async () => {
  const cli = findTemporalCli();
  if (cli?.kind !== 'path') throw new Error('global setup should have found or built the Temporal CLI');
  const orderId = uniqueId('cli');
  const handle = await startOrderActor(client, orderId);
  await handle.executeUpdate(commandUpdates.CreateOrder, { args: [{ commandId: 'create', orderId, customerId: 'c-cli' }] });
  await promisify(execFile)(cli.path, [
    'workflow',
    'signal',
    '--address',
    testEnv.temporalAddress,
    '--workflow-id',
    `order-${orderId}`,
    '--name',
    'AddItem',
    '--input',
    JSON.stringify({ commandId: 'cli-add', productId, quantity: 3 }),
  ]);
  let outcome = await handle.query(getCommandOutcomeQuery, 'cli-add');
  for (let i = 0; i < 50 && outcome?.status !== 'accepted'; i++) {
    await new Promise((r) => setTimeout(r, 100));
    outcome = await handle.query(getCommandOutcomeQuery, 'cli-add');
  }
  expect(outcome).toMatchObject({ status: 'accepted', version: 2 });
  const events = await stream(orderId);
  expect(events[1]).toMatchObject({
    type: 'OrderItemAdded',
    data: { productId, quantity: 3, unitPriceCents: 2999 },
    metadata: { commandId: 'client:cli-add' },
  });
});

test('a finished order returns its final state as the workflow result', async () => {
  const orderId = uniqueId('result');
  const handle = await startOrderActor(client, orderId);
  await handle.executeUpdate(commandUpdates.CreateOrder, { args: [{ commandId: 'create', orderId, customerId: 'c-res', shippingAddress: sampleAddress }] });
  await handle.executeUpdate(commandUpdates.CancelOrder, { args: [{ commandId: 'cancel', reason: 'duplicate order' }] });
  const result = await handle.result();
  expect(result).toEqual({ state: foldRecorded(orderDecider, await stream(orderId)), version: 2 });
  expect(result.state).toMatchObject({ status: 'CANCELLED', cancellationReason: 'duplicate order' });
});

test('a signal carrying text Postgres cannot store is refused by the shared schema, and the order keeps answering', async () => {
  const orderId = uniqueId('nul');
  const handle = await startOrderActor(client, orderId);
  await handle.executeUpdate(commandUpdates.CreateOrder, { args: [{ commandId: 'create', orderId, customerId: 'c-nul' }] });
  await handle.signal(commandSignals.CancelOrder, { commandId: 'nul-cancel', reason: 'bad\u0000reason' });
  let outcome = await handle.query(getCommandOutcomeQuery, 'nul-cancel');
  for (let i = 0; i < 50 && !outcome; i++) {
    await new Promise((r) => setTimeout(r, 100));
    outcome = await handle.query(getCommandOutcomeQuery, 'nul-cancel');
  }
  expect(outcome).toMatchObject({ status: 'rejected', code: 'INVALID_COMMAND' });
  const next = await handle.executeUpdate(commandUpdates.AddItem, { args: [{ commandId: 'after', productId, quantity: 1 }] });
  expect(next).toMatchObject({ status: 'accepted', version: 2 });
});
