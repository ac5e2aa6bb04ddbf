import fc from 'fast-check';
import { customer, useTestApi } from '../support/harness';
import { cartReadyToCheckOut } from '../operations/stranding';

/*
 * The console's JSON routes over HTTP: ETags for polling, and operator actions that happen once per
 * Idempotency-Key and are recorded with who and why. The page itself is tested in test/console.
 */

const app = useTestApi();

test("an order's story answers 304 to its own ETag until the order changes", async () => {
  const { orderId } = await cartReadyToCheckOut(app.pool, app.call);
  let first = await app.call('GET', `/admin/orders/${orderId}/story`);
  // The read model beside the fold is part of the story: it changes once the projector catches up.
  while (first.body.readModel.verdict !== 'agrees') first = await app.call('GET', `/admin/orders/${orderId}/story`);
  expect(first).toMatchObject({ status: 200, body: { orderId, version: 2, exists: true } });
  const etag = first.headers.get('etag')!;
  expect((await app.call('GET', `/admin/orders/${orderId}/story`, { headers: { 'if-none-match': etag } })).status).toBe(304);
  await app.call('POST', `/orders/${orderId}/checkout?wait=true`);
  const changed = await app.call('GET', `/admin/orders/${orderId}/story`, { headers: { 'if-none-match': etag } });
  expect(changed).toMatchObject({ status: 200, body: { version: 6, state: { status: 'CONFIRMED' } } });
  expect((await app.call('GET', '/admin/orders/no-such-order/story')).body.code).toBe('ORDER_NOT_FOUND');
  expect((await app.call('GET', '/admin/streams/nothing-here')).body.code).toBe('STREAM_NOT_FOUND');
});

test('an action happens once per Idempotency-Key, is recorded with who and why, and needs an admin', async () => {
  const { orderId, customerId } = await cartReadyToCheckOut(app.pool, app.call);
  const body = { action: 'cancel', orderId, reason: 'customer asked by phone' };
  expect((await app.call('POST', '/admin/actions', { body })).body.code).toBe('IDEMPOTENCY_KEY_REQUIRED');
  expect((await app.call('POST', '/admin/actions', { body, headers: { 'idempotency-key': `c-${orderId}` }, as: customer(customerId) })).status).toBe(403);

  const first = await app.call('POST', '/admin/actions', { body, headers: { 'idempotency-key': `c-${orderId}` } });
  expect(first).toMatchObject({
    status: 200,
    body: {
      replayed: false,
      action: {
        action: 'cancel',
        target: `order-${orderId}`,
        operator: 'test-admin',
        reason: body.reason,
        outcome: { status: 'done', answer: { orderStatus: 'CANCELLED' } },
      },
    },
  });
  const again = await app.call('POST', '/admin/actions', { body, headers: { 'idempotency-key': `c-${orderId}` } });
  expect(again).toMatchObject({ status: 200, body: { replayed: true, action: first.body.action } });
  const reused = await app.call('POST', '/admin/actions', { body: { ...body, action: 'ship' }, headers: { 'idempotency-key': `c-${orderId}` } });
  expect(reused).toMatchObject({ status: 422, body: { code: 'IDEMPOTENCY_KEY_REUSED' } });

  // A refusal is an outcome too: recorded, and answered again to a repeat.
  const ship = { action: 'ship', orderId, reason: 'try' };
  const refused = await app.call('POST', '/admin/actions', { body: ship, headers: { 'idempotency-key': `s-${orderId}` } });
  expect(refused).toMatchObject({ status: 409, body: { code: 'ORDER_CLOSED' } });
  expect(await app.call('POST', '/admin/actions', { body: ship, headers: { 'idempotency-key': `s-${orderId}` } })).toMatchObject({
    status: 409,
    body: { code: 'ORDER_CLOSED', replayed: true },
  });

  const story = await app.call('GET', `/admin/orders/${orderId}/story`);
  expect(story.body.state.status).toBe('CANCELLED');
  expect(story.body.timeline.filter((e: { type: string }) => e.type === 'OrderCancelled')).toHaveLength(1);
  expect(story.body.actions.map((a: { action: string; reason: string }) => [a.action, a.reason])).toEqual([
    ['ship', 'try'],
    ['cancel', 'customer asked by phone'],
  ]);
});

test('whatever the query or body, the console routes answer a problem, never a 500', async () => {
  const text = fc.oneof(
    fc.string({ maxLength: 30 }),
    fc.constantFrom('', 'true', '2026-02-30', '2026-11-30', '2026-11-30T10:00:00Z', '-1', '1e400', 'x'.repeat(300)),
  );
  await fc.assert(
    fc.asyncProperty(fc.dictionary(fc.constantFrom('customerId', 'status', 'from', 'to', 'stuck', 'cursor', 'limit', 'other'), text), async (query) => {
      const res = await app.call('GET', `/admin/orders?${new URLSearchParams(query).toString()}`);
      expect([200, 400]).toContain(res.status);
    }),
    { numRuns: 60 },
  );
  await fc.assert(
    fc.asyncProperty(
      fc.record(
        {
          action: fc.constantFrom('cancel', 'ship', 'heal', 'retry-dead-letter', 'nuke'),
          orderId: text,
          deadLetterId: fc.oneof(fc.integer({ max: 0 }), fc.integer({ min: 1e12, max: 2 ** 50 }), text),
          reason: text,
        }, // ids no real dead letter has
        { requiredKeys: [] },
      ),
      fc.uuid(),
      async (body, key) => {
        const res = await app.call('POST', '/admin/actions', { body, headers: { 'idempotency-key': key } });
        expect(res.status).toBeLessThan(500);
      },
    ),
    { numRuns: 60 },
  );
});
