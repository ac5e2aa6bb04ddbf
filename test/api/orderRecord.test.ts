import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/common';
import fc from 'fast-check';
import { ORDER_STREAM_TYPE, orderStreamId } from '../../src/domain/order';
import { appendToStream } from '../../src/eventstore';
import { orderWorkflowId } from '../../src/workflows/orderContract';
import { customer, expectProblem, useTestApi, uniqueId } from '../support/harness';
import { sampleAddress } from '../support/orders';

/*
 * Postgres is the record: when an order's actor is gone (Temporal deletes a finished workflow
 * after its retention) or closed, reads, refusals and command statuses come from the stream.
 */
const fixture = useTestApi();
const { call } = fixture;

let productId: string;
beforeAll(async () => {
  const product = await call('POST', '/products', { body: { name: 'Stool', priceCents: 900 } });
  productId = product.body.productId;
});

async function actorExists(orderId: string): Promise<boolean> {
  try {
    await fixture.client.workflow.getHandle(orderWorkflowId(orderId)).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

/** What retention does to a closed workflow, now: delete it, and wait until it is gone. */
async function deleteActor(orderId: string): Promise<void> {
  await fixture.client.workflowService.deleteWorkflowExecution({ namespace: 'default', workflowExecution: { workflowId: orderWorkflowId(orderId) } });
  for (let i = 0; i < 600 && (await actorExists(orderId)); i++) await new Promise((r) => setTimeout(r, 100));
  expect(await actorExists(orderId)).toBe(false);
}

test('after retention deleted a cancelled order, its reads, refusals and statuses come from the stream; a retried create starts nothing', async () => {
  const as = customer(uniqueId('kept'));
  const created = await call('POST', '/orders', { body: { shippingAddress: sampleAddress }, headers: { 'Idempotency-Key': 'create-kept' }, as });
  const orderId: string = created.body.orderId;
  await call('POST', `/orders/${orderId}/items`, { body: { productId, quantity: 2 }, headers: { 'Idempotency-Key': 'add-kept' }, as });
  expect((await call('POST', `/orders/${orderId}/cancel`, { body: { reason: 'kept' }, as })).body.status).toBe('CANCELLED');
  await fixture.client.workflow.getHandle(orderWorkflowId(orderId)).result();
  await deleteActor(orderId);

  expect((await call('GET', `/orders/${orderId}?consistency=strong`, { as })).body).toMatchObject({ status: 'CANCELLED', version: 3 });
  expectProblem(await call('POST', `/orders/${orderId}/items`, { body: { productId, quantity: 1 }, as }), 409, 'ORDER_CLOSED');
  expect((await call('GET', `/orders/${orderId}/commands/add-kept`, { as })).body).toMatchObject({
    status: 'accepted',
    version: 2,
    events: ['OrderItemAdded'],
  });
  expect((await call('GET', `/orders/${orderId}/commands/never-sent`, { as })).body).toMatchObject({ status: 'rejected', code: 'ORDER_CLOSED' });

  const retried = await call('POST', '/orders', { body: { shippingAddress: sampleAddress }, headers: { 'Idempotency-Key': 'create-kept' }, as });
  expect(retried).toMatchObject({ status: 201, body: { orderId, version: 1, events: ['OrderCreated'] } });
  expectProblem(await call('POST', '/orders', { body: { orderId, customerId: as.sub } }), 409, 'ORDER_ALREADY_EXISTS');
  expect(await actorExists(orderId)).toBe(false);
});

test('an open order whose actor is gone is not the client’s mistake: 503, and the stream is unchanged', async () => {
  // A stream with no workflow at all: what an open order looks like once its actor is gone.
  const orderId = uniqueId('stranded');
  await appendToStream(fixture.pool, orderStreamId(orderId), ORDER_STREAM_TYPE, 'no_stream', [
    { eventId: randomUUID(), type: 'OrderCreated', data: { orderId, customerId: 'c-stranded', shippingAddress: null }, occurredAt: new Date() },
  ]);
  const refused = await call('POST', `/orders/${orderId}/items`, { body: { productId, quantity: 1 } });
  expectProblem(refused, 503, 'ORDER_UNAVAILABLE');
  expect(refused.headers.get('retry-after')).not.toBeNull();
  expect((await call('GET', `/orders/${orderId}?consistency=strong`)).body).toMatchObject({ status: 'PENDING', version: 1 });
  // Creating it again is no way around it: the same 503, and no second actor.
  expectProblem(await call('POST', '/orders', { body: { orderId, customerId: 'c-stranded' } }), 503, 'ORDER_UNAVAILABLE');
  expect(await actorExists(orderId)).toBe(false);
});

test('keys stored before the namespaces are still found: a client key answers accepted, the saga report stays internal', async () => {
  // A cancelled order whose events carry raw command ids, as the actor stored them before, and no workflow.
  const orderId = uniqueId('legacy');
  const event = (type: string, data: unknown, commandId: string) => ({ eventId: randomUUID(), type, data, occurredAt: new Date(), metadata: { commandId } });
  await appendToStream(fixture.pool, orderStreamId(orderId), ORDER_STREAM_TYPE, 'no_stream', [
    event('OrderCreated', { orderId, customerId: 'c-legacy', shippingAddress: null }, 'legacy-create'),
    event('OrderCancelled', { reason: 'old', previousStatus: 'PENDING', compensations: [] }, 'checkout-1'),
  ]);
  expect((await call('GET', `/orders/${orderId}/commands/legacy-create`)).body).toMatchObject({ status: 'accepted', version: 1, events: ['OrderCreated'] });
  expect((await call('GET', `/orders/${orderId}/commands/checkout-1`)).body).toMatchObject({ status: 'rejected', code: 'ORDER_CLOSED' });
});

test('a closed order answers a retried command with its first answer, another request under its key with 422', async () => {
  const created = await call('POST', '/orders', { body: { customerId: uniqueId('closed') } });
  const orderId: string = created.body.orderId;
  const cancelled = await call('POST', `/orders/${orderId}/cancel`, { body: { reason: 'bye' }, headers: { 'Idempotency-Key': 'bye' } });
  expect(cancelled.body).toMatchObject({ status: 'CANCELLED', version: 2 });
  await fixture.client.workflow.getHandle(orderWorkflowId(orderId)).result();
  expect(await call('POST', `/orders/${orderId}/cancel`, { body: { reason: 'bye' }, headers: { 'Idempotency-Key': 'bye' } })).toMatchObject({
    status: 200,
    body: cancelled.body,
  });
  expectProblem(
    await call('POST', `/orders/${orderId}/cancel`, { body: { reason: 'other' }, headers: { 'Idempotency-Key': 'bye' } }),
    422,
    'IDEMPOTENCY_KEY_REUSED',
  );
});

test('every command sent to a closed order has a status: refused as ORDER_CLOSED', async () => {
  const created = await call('POST', '/orders', { body: { customerId: uniqueId('closed') } });
  const orderId: string = created.body.orderId;
  await call('POST', `/orders/${orderId}/cancel`, { body: { reason: 'closed' } });
  expectProblem(await call('POST', `/orders/${orderId}/cancel`, { body: { reason: 'again' }, headers: { 'Idempotency-Key': 'late' } }), 409, 'ORDER_CLOSED');
  expect((await call('GET', `/orders/${orderId}/commands/late`)).body).toMatchObject({ status: 'rejected', code: 'ORDER_CLOSED' });
});

test('a customers cursor the API never handed out is a 400, whatever instant it names', async () => {
  const customerId = uniqueId('cursor');
  await fc.assert(
    fc.asyncProperty(fc.date({ noInvalidDate: true }), fc.oneof(fc.constant('o-1'), fc.string()), async (at, orderId) => {
      const cursor = Buffer.from(JSON.stringify([at.toISOString(), orderId])).toString('base64url');
      const res = await call('GET', `/customers/${customerId}/orders?cursor=${cursor}`);
      expect([200, 400]).toContain(res.status);
    }),
    {
      numRuns: 60,
      examples: [
        [new Date('0000-06-01T00:00:00.000Z'), 'o-1'],
        [new Date('+010000-01-01T00:00:00.000Z'), 'o-1'],
      ],
    },
  );
});
