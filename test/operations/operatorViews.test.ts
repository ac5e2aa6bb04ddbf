import { allProjections } from '../../src/projections';
import { actorAnswers, changesBetween, listOrders, orderStory, readSideStatus, streamStory } from '../../src/operations/operatorViews';
import { orderWorkflowId } from '../../src/workflows/orderContract';
import { statusAndBody, useTestApi } from '../support/harness';
import { cartReadyToCheckOut } from './stranding';
import fc from 'fast-check';
import { sameJson } from '../../src/invariants/types';

const app = useTestApi();

/** Until the order_summary row has caught up with the stream (the projector runs beside the tests). */
async function projected(orderId: string, version: number): Promise<void> {
  while ((await orderStory(app.pool, orderId)).readModel.rowVersion !== version) await new Promise((resolve) => setTimeout(resolve, 50));
}

test("an order's story: every event with the state after it, its commands, its checkout's steps on the stock and wallet streams, the read model beside the fold", async () => {
  const { orderId, customerId, productId } = await cartReadyToCheckOut(app.pool, app.admin);
  const placed = await app.admin.POST('/orders/{orderId}/checkout', {
    params: { path: { orderId }, query: { wait: 'true' }, header: { 'Idempotency-Key': `checkout-${orderId}` } },
  });
  expect(statusAndBody(placed)).toMatchObject({ status: 200, body: { status: 'CONFIRMED', version: 6 } });
  await projected(orderId, 6);

  const story = await orderStory(app.pool, orderId);
  expect(story.timeline.map((e) => [e.version, e.type, (e.stateAfter as { status: string }).status])).toEqual([
    [1, 'OrderCreated', 'PENDING'],
    [2, 'OrderItemAdded', 'PENDING'],
    [3, 'OrderPlaced', 'PLACED'],
    [4, 'StockReserved', 'PLACED'],
    [5, 'PaymentDebited', 'PLACED'],
    [6, 'CheckoutSucceeded', 'CONFIRMED'],
  ]);
  expect(story.timeline[2]!.changed).toEqual(
    expect.arrayContaining([
      { path: 'status', before: 'PENDING', after: 'PLACED' },
      { path: 'checkoutAttempts', before: 0, after: 1 },
    ]),
  );
  expect(story.state).toEqual(story.timeline[5]!.stateAfter);
  expect(story.commands.map((c) => [c.commandId, c.origin, c.events])).toEqual([
    [`client:create-${orderId}`, 'client', ['OrderCreated']],
    [`client:add-${orderId}`, 'client', ['OrderItemAdded']],
    [`client:checkout-${orderId}`, 'client', ['OrderPlaced']],
    ['internal:checkout:1', 'internal', ['StockReserved', 'PaymentDebited', 'CheckoutSucceeded']],
  ]);
  expect(story.checkouts).toEqual([
    expect.objectContaining({
      attempt: 1,
      // The saga runs in the actor (checkout-in-actor): its steps name the actor's workflow.
      workflowId: orderWorkflowId(orderId),
      totalCents: 3000,
      outcome: expect.objectContaining({ status: 'succeeded', version: 6 }),
      steps: [
        expect.objectContaining({ kind: 'step', streamId: `stock-${productId}`, type: 'StockReserved' }),
        expect.objectContaining({ kind: 'step', streamId: `account-${customerId}`, type: 'AccountDebited', workflowId: orderWorkflowId(orderId) }),
        expect.objectContaining({ kind: 'step', streamId: `stock-${productId}`, type: 'StockCommitted' }),
      ],
    }),
  ]);
  expect(story.readModel).toMatchObject({ verdict: 'agrees', rowVersion: 6, differences: [] });
  expect(story.workflows).toEqual({ actor: orderWorkflowId(orderId), sagas: [] });

  // Cancelling it gives the stock and the money back: the attempt shows the compensations.
  expect((await app.admin.POST('/orders/{orderId}/cancel', { params: { path: { orderId } }, body: { reason: 'changed my mind' } })).response.status).toBe(200);
  const cancelled = await orderStory(app.pool, orderId);
  expect(cancelled.checkouts[0]!.cancelled).toMatchObject({ reason: 'changed my mind' });
  expect(cancelled.checkouts[0]!.steps.filter((s) => s.kind === 'compensation').map((s) => s.type)).toEqual(
    expect.arrayContaining(['PaymentRefunded', 'StockReturned']),
  );

  // Other streams tell their story the same way.
  const wallet = await streamStory(app.pool, `account-${customerId}`);
  expect(wallet?.timeline.map((e) => e.type)).toEqual(['AccountOpened', 'FundsDeposited', 'AccountDebited', 'PaymentRefunded']);
  expect(wallet?.state).toMatchObject({ balanceCents: 10_000 });
  expect(await streamStory(app.pool, 'nothing-here')).toBeUndefined();

  // The search finds it by its customer; a customer with no orders finds nothing.
  await projected(orderId, cancelled.version);
  expect((await listOrders(app.pool, { customerId, limit: 10 })).orders).toEqual([expect.objectContaining({ orderId, status: 'CANCELLED', customerId })]);
  expect((await listOrders(app.pool, { customerId, status: 'PENDING', limit: 10 })).orders).toEqual([]);
});

test('a terminated actor of an open order is stuck, with the reason; a working one is not', async () => {
  const { orderId, customerId } = await cartReadyToCheckOut(app.pool, app.admin);
  await projected(orderId, 2);
  expect((await listOrders(app.pool, { customerId, stuck: true, limit: 10 }, { client: app.client })).orders).toEqual([]);
  await app.client.workflow.getHandle(orderWorkflowId(orderId)).terminate('test: the actor dies');
  const { orders } = await listOrders(app.pool, { customerId, stuck: true, limit: 10 }, { client: app.client });
  expect(orders).toEqual([expect.objectContaining({ orderId, stuck: [expect.stringContaining('TERMINATED')] })]);
});

test('the answers the actor gave: accepted commands and refusals with their codes, which the stream does not record', async () => {
  const { orderId } = await cartReadyToCheckOut(app.pool, app.admin);
  const refused = await app.admin.POST('/orders/{orderId}/ship', { params: { path: { orderId }, header: { 'Idempotency-Key': `ship-${orderId}` } }, body: {} });
  expect(statusAndBody(refused)).toMatchObject({ status: 409, body: { code: 'ORDER_NOT_CONFIRMED' } });
  expect(await actorAnswers(app.client, orderId)).toEqual([
    expect.objectContaining({ command: 'CreateOrder', commandId: `create-${orderId}`, outcome: 'accepted' }),
    expect.objectContaining({ command: 'AddItem', commandId: `add-${orderId}`, outcome: 'accepted' }),
    expect.objectContaining({ command: 'MarkShipped', commandId: `ship-${orderId}`, outcome: 'rejected', code: 'ORDER_NOT_CONFIRMED' }),
  ]);
  expect(await actorAnswers(app.client, 'no-such-order')).toBeUndefined();
});

test('the read side: each projection with its checkpoint and lag', async () => {
  const status = await readSideStatus(app.pool, allProjections);
  expect(status.projections.map((p) => p.name)).toEqual(allProjections.map((p) => p.name));
  expect(status.projections[0]).toMatchObject({ state: expect.any(String), lag: { events: expect.any(Number) } });
});

test('changesBetween names exactly the leaves that differ', () => {
  fc.assert(
    fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
      expect(changesBetween(a, a)).toEqual([]);
      expect(changesBetween(a, b).length === 0).toBe(sameJson(a, b));
    }),
  );
});
