import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/common';
import fc from 'fast-check';
import { ORDER_STREAM_TYPE, orderStreamId } from '../../src/domain/order';
import { appendToStream } from '../../src/eventstore';
import { orderWorkflowId } from '../../src/workflows/orderContract';
import { customer, expectProblem, statusAndBody, uniqueId, useTestApi } from '../support/harness';
import { sampleAddress } from '../support/orders';

/*
 * Postgres is the record: when an order's actor is gone (Temporal deletes a finished workflow
 * after its retention) or closed, reads, refusals and command statuses come from the stream.
 */
const fixture = useTestApi();

let productId: string;
beforeAll(async () => {
  const product = await fixture.admin.POST('/products', { body: { name: 'Stool', priceCents: 900 } });
  productId = product.data!.productId;
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
  const created = await fixture.as(as).POST('/orders', { params: { header: { 'Idempotency-Key': 'create-kept' } }, body: { shippingAddress: sampleAddress } });
  const orderId: string = created.data!.orderId;
  await fixture
    .as(as)
    .POST('/orders/{orderId}/items', { params: { path: { orderId }, header: { 'Idempotency-Key': 'add-kept' } }, body: { productId, quantity: 2 } });
  expect((await fixture.as(as).POST('/orders/{orderId}/cancel', { params: { path: { orderId } }, body: { reason: 'kept' } })).data!.status).toBe('CANCELLED');
  await fixture.client.workflow.getHandle(orderWorkflowId(orderId)).result();
  await deleteActor(orderId);

  expect((await fixture.as(as).GET('/orders/{orderId}', { params: { path: { orderId }, query: { consistency: 'strong' } } })).data).toMatchObject({
    status: 'CANCELLED',
    version: 3,
  });
  expectProblem(await fixture.as(as).POST('/orders/{orderId}/items', { params: { path: { orderId } }, body: { productId, quantity: 1 } }), 409, 'ORDER_CLOSED');
  expect((await fixture.as(as).GET('/orders/{orderId}/commands/{commandId}', { params: { path: { orderId, commandId: 'add-kept' } } })).data).toMatchObject({
    status: 'accepted',
    version: 2,
    events: ['OrderItemAdded'],
  });
  expect((await fixture.as(as).GET('/orders/{orderId}/commands/{commandId}', { params: { path: { orderId, commandId: 'never-sent' } } })).data).toMatchObject({
    status: 'rejected',
    code: 'ORDER_CLOSED',
  });

  const retried = await fixture.as(as).POST('/orders', { params: { header: { 'Idempotency-Key': 'create-kept' } }, body: { shippingAddress: sampleAddress } });
  expect(statusAndBody(retried)).toMatchObject({ status: 201, body: { orderId, version: 1, events: ['OrderCreated'] } });
  expectProblem(await fixture.admin.POST('/orders', { body: { orderId, customerId: as.sub } }), 409, 'ORDER_ALREADY_EXISTS');
  expect(await actorExists(orderId)).toBe(false);
});

test('an open order whose actor is gone is not the client’s mistake: 503, and the stream is unchanged', async () => {
  // A stream with no workflow at all: what an open order looks like once its actor is gone.
  const orderId = uniqueId('stranded');
  await appendToStream(fixture.pool, orderStreamId(orderId), ORDER_STREAM_TYPE, 'no_stream', [
    { eventId: randomUUID(), type: 'OrderCreated', data: { orderId, customerId: 'c-stranded', shippingAddress: null }, occurredAt: new Date() },
  ]);
  const refused = await fixture.admin.POST('/orders/{orderId}/items', { params: { path: { orderId } }, body: { productId, quantity: 1 } });
  expectProblem(refused, 503, 'ORDER_UNAVAILABLE');
  expect(refused.response.headers.get('retry-after')).not.toBeNull();
  expect((await fixture.admin.GET('/orders/{orderId}', { params: { path: { orderId }, query: { consistency: 'strong' } } })).data).toMatchObject({
    status: 'PENDING',
    version: 1,
  });
  // Creating it again is no way around it: the same 503, and no second actor.
  expectProblem(await fixture.admin.POST('/orders', { body: { orderId, customerId: 'c-stranded' } }), 503, 'ORDER_UNAVAILABLE');
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
  expect((await fixture.admin.GET('/orders/{orderId}/commands/{commandId}', { params: { path: { orderId, commandId: 'legacy-create' } } })).data).toMatchObject(
    { status: 'accepted', version: 1, events: ['OrderCreated'] },
  );
  expect((await fixture.admin.GET('/orders/{orderId}/commands/{commandId}', { params: { path: { orderId, commandId: 'checkout-1' } } })).data).toMatchObject({
    status: 'rejected',
    code: 'ORDER_CLOSED',
  });
});

test('a closed order answers a retried command with its first answer, another request under its key with 422', async () => {
  const created = await fixture.admin.POST('/orders', { body: { customerId: uniqueId('closed') } });
  const orderId: string = created.data!.orderId;
  const cancelled = await fixture.admin.POST('/orders/{orderId}/cancel', {
    params: { path: { orderId }, header: { 'Idempotency-Key': 'bye' } },
    body: { reason: 'bye' },
  });
  expect(cancelled.data).toMatchObject({ status: 'CANCELLED', version: 2 });
  await fixture.client.workflow.getHandle(orderWorkflowId(orderId)).result();
  expect(
    statusAndBody(
      await fixture.admin.POST('/orders/{orderId}/cancel', { params: { path: { orderId }, header: { 'Idempotency-Key': 'bye' } }, body: { reason: 'bye' } }),
    ),
  ).toMatchObject({
    status: 200,
    body: cancelled.data,
  });
  expectProblem(
    await fixture.admin.POST('/orders/{orderId}/cancel', { params: { path: { orderId }, header: { 'Idempotency-Key': 'bye' } }, body: { reason: 'other' } }),
    422,
    'IDEMPOTENCY_KEY_REUSED',
  );
});

test('every command sent to a closed order has a status: refused as ORDER_CLOSED', async () => {
  const created = await fixture.admin.POST('/orders', { body: { customerId: uniqueId('closed') } });
  const orderId: string = created.data!.orderId;
  await fixture.admin.POST('/orders/{orderId}/cancel', { params: { path: { orderId } }, body: { reason: 'closed' } });
  expectProblem(
    await fixture.admin.POST('/orders/{orderId}/cancel', { params: { path: { orderId }, header: { 'Idempotency-Key': 'late' } }, body: { reason: 'again' } }),
    409,
    'ORDER_CLOSED',
  );
  expect((await fixture.admin.GET('/orders/{orderId}/commands/{commandId}', { params: { path: { orderId, commandId: 'late' } } })).data).toMatchObject({
    status: 'rejected',
    code: 'ORDER_CLOSED',
  });
});

test('a customers cursor the API never handed out is a 400, whatever instant it names', async () => {
  const customerId = uniqueId('cursor');
  await fc.assert(
    fc.asyncProperty(fc.date({ noInvalidDate: true }), fc.oneof(fc.constant('o-1'), fc.string()), async (at, orderId) => {
      const cursor = Buffer.from(JSON.stringify([at.toISOString(), orderId])).toString('base64url');
      const res = await fixture.admin.GET('/customers/{customerId}/orders', { params: { path: { customerId }, query: { cursor } } });
      expect([200, 400]).toContain(res.response.status);
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
