import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomUUID } from 'node:crypto';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { Pool } from '../../src/db/pool';
import { findTemporalCli } from '../../src/devstack/temporalCli';
import { orderDecider, orderStreamId } from '../../src/domain/order';
import { commandSignals, commandUpdates, getCommandOutcomeQuery, getOrderQuery } from '../../src/workflows/orderContract';
import { createProduct, testClient, testEnv, testPool, uniqueId } from '../support/harness';
import { sampleAddress, startOrderActor } from '../support/orders';
import { readStream } from '../../src/application/eventStore';
import { foldRecorded } from '../../src/application/foldStream';
import { executeAccountCommand } from '../../src/application/accounts';
import { commandMetadata } from '../../src/application/commandMetadata';
import { executeStockCommand } from '../../src/application/stock';

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

/** The order's timers as its history holds them: how long each was started for, and how many were cancelled. */
/** The order's cart timers: their durations, and how many fired or were cancelled (the 1 ms timer that starts a checkout left out). */
async function timers(handle: WorkflowHandle) {
  const events = (await handle.fetchHistory()).events ?? [];
  const cartTimers = new Map<string, number>();
  for (const e of events) {
    const timeout = e.timerStartedEventAttributes?.startToFireTimeout;
    const ms = timeout ? Number(timeout.seconds ?? 0) * 1000 + (timeout.nanos ?? 0) / 1e6 : 0;
    if (ms > 1) cartTimers.set(e.timerStartedEventAttributes!.timerId!, ms);
  }
  const count = (timerId: string | null | undefined) => (timerId && cartTimers.has(timerId) ? 1 : 0);
  const fired = events.reduce((n, e) => n + count(e.timerFiredEventAttributes?.timerId), 0);
  const cancelled = events.reduce((n, e) => n + count(e.timerCanceledEventAttributes?.timerId), 0);
  return { started: [...cartTimers.values()], fired, cancelled };
}

/** Milliseconds between two of an order's events, by the workflow clock they were decided at. */
function between(events: Awaited<ReturnType<typeof stream>>, from: string, to: string): number {
  const at = (type: string) => Date.parse(events.find((e) => e.type === type)!.occurredAt);
  return at(to) - at(from);
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
  const events = await stream(orderId);
  expect(between(events, 'OrderItemAdded', 'OrderExpired')).toBeGreaterThanOrEqual(2000);
  // The add moved the deadline without touching the timer; the timer, firing at the old deadline, started again for what was left
  // (the whole TTL when, on a slow machine, the add reached the actor in the task where the timer fired).
  const { started, cancelled } = await timers(handle);
  expect({ timers: started.length, cancelled, secondForTheRest: started[1]! <= 2000 }).toEqual({ timers: 2, cancelled: 0, secondForTheRest: true });
});

test('a cart starts one expiry timer however many commands it takes: a command moves the deadline, it does not restart the timer', async () => {
  const orderId = uniqueId('one-timer');
  const handle = await startOrderActor(client, orderId); // a 30 min TTL: no timer fires during the test
  await handle.executeUpdate(commandUpdates.CreateOrder, { args: [{ commandId: 'create', orderId, customerId: 'c-one-timer' }] });
  for (let i = 1; i <= 5; i++) await handle.executeUpdate(commandUpdates.AddItem, { args: [{ commandId: `add-${i}`, productId, quantity: 1 }] });
  await handle.executeUpdate(commandUpdates.ChangeItemQuantity, { args: [{ commandId: 'qty', productId, quantity: 2 }] });
  await handle.signal(commandSignals.AddItem, { commandId: 'signalled', productId, quantity: 1 });
  expect(await handle.executeUpdate(commandUpdates.RemoveItem, { args: [{ commandId: 'remove', productId }] })).toMatchObject({ version: 9 });
  expect(await timers(handle)).toEqual({ started: [30 * 60_000], fired: 0, cancelled: 0 });
  await handle.terminate('test done');
});

test('the cart timer firing after checkout does nothing: a confirmed order does not expire and ships', async () => {
  const orderId = uniqueId('placed-timer');
  const customerId = uniqueId('c-placed');
  await executeStockCommand(pool, productId, { type: 'Restock', quantity: 1 }, commandMetadata(randomUUID(), 'test'));
  await executeAccountCommand(pool, { type: 'Deposit', customerId, amountCents: 10_000 }, commandMetadata(randomUUID(), 'test'));
  const handle = await startOrderActor(client, orderId, { cartTtlMs: 3000 });
  await handle.executeUpdate(commandUpdates.CreateOrder, { args: [{ commandId: 'create', orderId, customerId, shippingAddress: sampleAddress }] });
  await handle.executeUpdate(commandUpdates.AddItem, { args: [{ commandId: 'add', productId, quantity: 1 }] });
  await handle.executeUpdate(commandUpdates.PlaceOrder, { args: [{ commandId: 'place' }] });
  // Until the timer started for the cart has fired (3 s after it started; 15 s at most), the order confirmed meanwhile.
  for (let i = 0; i < 75 && (await timers(handle)).fired === 0; i++) await new Promise((r) => setTimeout(r, 200));
  expect((await handle.query(getOrderQuery)).state.status).toBe('CONFIRMED');
  await handle.executeUpdate(commandUpdates.MarkShipped, { args: [{ commandId: 'ship' }] });
  expect((await handle.result()).state.status).toBe('SHIPPED');
  expect((await stream(orderId)).map((e) => e.type)).not.toContain('OrderExpired');
  // It was not started again: the order had left the cart when it fired.
  expect(await timers(handle)).toEqual({ started: [3000], fired: 1, cancelled: 0 });
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
