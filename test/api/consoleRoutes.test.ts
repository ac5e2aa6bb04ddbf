import fc from 'fast-check';
import type { Request, Response } from 'express';
import { consoleRoutes, type ConsoleRouteDeps } from '../../src/api/console';
import { ApiError } from '../../src/api/problem';
import { finishAction, recordAction } from '../../src/operations/operatorActions';
import { customer, statusAndBody, useTestApi } from '../support/harness';
import { cartReadyToCheckOut } from '../operations/stranding';

/*
 * The console's JSON routes over HTTP: ETags for polling, and operator actions that happen once per
 * Idempotency-Key and are recorded with who and why. The page itself is tested in test/console.
 */

const app = useTestApi();

test("an order's story answers 304 to its own ETag until the order changes", async () => {
  const { orderId } = await cartReadyToCheckOut(app.pool, app.admin);
  const params = { path: { orderId } };
  let first = await app.admin.GET('/admin/orders/{orderId}/story', { params });
  // The read model beside the fold is part of the story: it changes once the projector catches up.
  while (first.data?.readModel.verdict !== 'agrees') first = await app.admin.GET('/admin/orders/{orderId}/story', { params });
  expect(statusAndBody(first)).toMatchObject({ status: 200, body: { orderId, version: 2, exists: true } });
  const etag = first.response.headers.get('etag')!;
  expect((await app.admin.GET('/admin/orders/{orderId}/story', { params, headers: { 'If-None-Match': etag } })).response.status).toBe(304);
  await app.admin.POST('/orders/{orderId}/checkout', { params: { ...params, query: { wait: 'true' } } });
  const changed = await app.admin.GET('/admin/orders/{orderId}/story', { params, headers: { 'If-None-Match': etag } });
  expect(statusAndBody(changed)).toMatchObject({ status: 200, body: { version: 6, state: { status: 'CONFIRMED' } } });
  expect((await app.admin.GET('/admin/orders/{orderId}/story', { params: { path: { orderId: 'no-such-order' } } })).error?.code).toBe('ORDER_NOT_FOUND');
  expect((await app.admin.GET('/admin/streams/{streamId}', { params: { path: { streamId: 'nothing-here' } } })).error?.code).toBe('STREAM_NOT_FOUND');
});

test("a story shows a read-model row as stored, even one that is not an order's shape: that difference is what the view is for", async () => {
  const { orderId } = await cartReadyToCheckOut(app.pool, app.admin);
  const params = { path: { orderId } };
  while ((await app.admin.GET('/admin/orders/{orderId}/story', { params })).data?.readModel.verdict !== 'agrees');
  // A row written by hand (or by older projector code) with a field the fold does not have.
  await app.pool.query(`UPDATE order_summary SET state = state || '{"giftNote": "by hand"}'::jsonb WHERE order_id = $1`, [orderId]);
  const story = await app.admin.GET('/admin/orders/{orderId}/story', { params });
  expect(statusAndBody(story)).toMatchObject({ status: 200, body: { readModel: { verdict: 'differs', row: { giftNote: 'by hand' } } } });
});

test('an action happens once per Idempotency-Key, is recorded with who and why, and needs an admin', async () => {
  const { orderId, customerId } = await cartReadyToCheckOut(app.pool, app.admin);
  const body = { action: 'cancel', orderId, reason: 'customer asked by phone' } as const;
  const params = { header: { 'Idempotency-Key': `c-${orderId}` } };
  expect((await app.admin.POST('/admin/actions', { body })).error?.code).toBe('IDEMPOTENCY_KEY_REQUIRED');
  expect((await app.as(customer(customerId)).POST('/admin/actions', { params, body })).response.status).toBe(403);

  const first = await app.admin.POST('/admin/actions', { params, body });
  expect(statusAndBody(first)).toMatchObject({
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
  const again = await app.admin.POST('/admin/actions', { params, body });
  expect(statusAndBody(again)).toMatchObject({ status: 200, body: { replayed: true, action: first.data!.action } });
  const reused = await app.admin.POST('/admin/actions', { params, body: { ...body, action: 'ship' } });
  expect(statusAndBody(reused)).toMatchObject({ status: 422, body: { code: 'IDEMPOTENCY_KEY_REUSED' } });

  // A refusal is an outcome too: recorded, and answered again to a repeat.
  const ship = { params: { header: { 'Idempotency-Key': `s-${orderId}` } }, body: { action: 'ship', orderId, reason: 'try' } } as const;
  const refused = await app.admin.POST('/admin/actions', ship);
  expect(statusAndBody(refused)).toMatchObject({ status: 409, body: { code: 'ORDER_CLOSED' } });
  expect(statusAndBody(await app.admin.POST('/admin/actions', ship))).toMatchObject({
    status: 409,
    body: { code: 'ORDER_CLOSED', replayed: true },
  });

  const story = (await app.admin.GET('/admin/orders/{orderId}/story', { params: { path: { orderId } } })).data!;
  expect(story.state.status).toBe('CANCELLED');
  expect(story.timeline.filter((e) => e.type === 'OrderCancelled')).toHaveLength(1);
  expect(story.actions.map((a) => [a.action, a.reason])).toEqual([
    ['ship', 'try'],
    ['cancel', 'customer asked by phone'],
  ]);
});

test('two requests with one key at once: one performs the action, the other is 409 ACTION_IN_PROGRESS or replays its outcome', async () => {
  for (let round = 0; round < 4; round++) {
    const { orderId } = await cartReadyToCheckOut(app.pool, app.admin);
    const key = `race-${orderId}`;
    const action = { params: { header: { 'Idempotency-Key': key } }, body: { action: 'cancel', orderId, reason: 'race' } } as const;
    const answers = await Promise.all([0, 1].map(() => app.admin.POST('/admin/actions', action)));
    const performed = answers.filter((a) => a.response.status === 200 && a.data?.replayed === false);
    expect(performed).toHaveLength(1);
    const other = answers.find((a) => a !== performed[0])!;
    if (other.response.status === 409) expect(other.error?.code).toBe('ACTION_IN_PROGRESS');
    else expect(statusAndBody(other)).toMatchObject({ status: 200, body: { replayed: true, action: performed[0]!.data!.action } });
    const { rows } = await app.pool.query('SELECT outcome FROM operator_actions WHERE idempotency_key = $1', [key]);
    expect(rows[0].outcome).toEqual(performed[0]!.data!.action.outcome);
  }
});

test('an action still in flight is not performed again until its claim lapses, and the first outcome recorded stays', async () => {
  const { orderId } = await cartReadyToCheckOut(app.pool, app.admin);
  const key = `inflight-${orderId}`;
  const action = { params: { header: { 'Idempotency-Key': key } }, body: { action: 'cancel', orderId, reason: 'in flight' } } as const;
  // Another request recorded and claimed it, and is still performing it.
  await recordAction(app.pool, { idempotencyKey: key, action: 'cancel', target: `order-${orderId}`, reason: 'in flight', operator: 'other-admin' });
  expect(statusAndBody(await app.admin.POST('/admin/actions', action))).toMatchObject({
    status: 409,
    body: { code: 'ACTION_IN_PROGRESS' },
  });
  expect((await app.admin.GET('/admin/orders/{orderId}/story', { params: { path: { orderId } } })).data!.state.status).not.toBe('CANCELLED');
  // That request died: once its claim is older than the lease, the key performs the action.
  await app.pool.query("UPDATE operator_actions SET claimed_at = now() - interval '1 hour' WHERE idempotency_key = $1", [key]);
  expect(statusAndBody(await app.admin.POST('/admin/actions', action))).toMatchObject({
    status: 200,
    body: { replayed: false, action: { outcome: { status: 'done' } } },
  });
  // A late finish (the dead request's, say a 404) does not overwrite the recorded outcome.
  const late = await finishAction(app.pool, key, { status: 'refused', problem: { status: 404, code: 'ORDER_NOT_FOUND', message: 'late', extra: {} } });
  expect(late).toMatchObject({ stored: false, action: { outcome: { status: 'done' } } });
});

test('a passing problem (429, 5xx, anything with Retry-After) is not recorded as the outcome: a retry with the key performs the action', async () => {
  const run = Date.now().toString(36);
  const act = consoleRoutes.routes.find((r) => r.method === 'post' && r.path === '/admin/actions')!.handle;
  const passing = fc.oneof(
    fc.record({ status: fc.constant(429), code: fc.constant('TOO_MANY_REQUESTS'), retryAfter: fc.boolean() }),
    fc.record({
      status: fc.constantFrom(500, 502, 503, 504),
      code: fc.constantFrom('COMMAND_TIMEOUT', 'ORDER_UNAVAILABLE', 'TEMPORAL_UNAVAILABLE'),
      retryAfter: fc.boolean(),
    }),
    fc.record({ status: fc.constantFrom(409, 422), code: fc.constantFrom('CONCURRENT_UPDATE', 'COMMAND_FAILED'), retryAfter: fc.constant(true) }),
  );
  await fc.assert(
    fc.asyncProperty(passing, fc.uuid(), async (problem, uuid) => {
      const key = `${run}-${uuid}`;
      let calls = 0;
      const gateway = {
        send: async () => {
          calls++;
          if (calls === 1) throw new ApiError(problem.status, problem.code, 'try later', {}, problem.retryAfter ? { 'Retry-After': '1' } : {});
          return { status: 'accepted', orderStatus: 'CANCELLED' };
        },
      };
      const deps = { db: app.pool, gateway } as unknown as ConsoleRouteDeps;
      const req = {
        get: (name: string) => (name.toLowerCase() === 'idempotency-key' ? key : undefined),
        body: { action: 'cancel', orderId: `o-${key}`, reason: 'r' },
      };
      const answered: unknown[] = [];
      const res = { locals: { principal: { sub: 'test-admin', role: 'admin' } }, json: (body: unknown) => answered.push(body) };
      await expect(act(req as unknown as Request, res as unknown as Response, deps)).rejects.toMatchObject({ status: problem.status, code: problem.code });
      const { rows } = await app.pool.query('SELECT outcome, claimed_at FROM operator_actions WHERE idempotency_key = $1', [key]);
      expect(rows[0]).toEqual({ outcome: null, claimed_at: null });
      await act(req as unknown as Request, res as unknown as Response, deps);
      expect(calls).toBe(2);
      expect(answered).toEqual([
        expect.objectContaining({ replayed: false, action: expect.objectContaining({ outcome: { status: 'done', answer: expect.anything() } }) }),
      ]);
    }),
    { numRuns: 30 },
  );
});

test('GET /admin/orders with an odd --from/--to answers 200 or 400 VALIDATION_FAILED, never a 500 from Postgres', async () => {
  const two = (max: number) => fc.integer({ min: 0, max }).map((n) => String(n).padStart(2, '0'));
  const oddInstant = fc
    .tuple(
      fc.integer({ min: 0, max: 9999 }).map((y) => String(y).padStart(4, '0')),
      two(13),
      two(32),
      fc.option(fc.tuple(two(25), two(61), fc.option(two(61)), fc.constantFrom('', 'Z', '+00:00', '-05:30', '+15:59', '+16:00', '-23:59', '+99:99'))),
    )
    .map(([y, m, d, t]) => `${y}-${m}-${d}${t ? `T${t[0]}:${t[1]}${t[2] === null ? '' : `:${t[2]}`}${t[3]}` : ''}`);
  await fc.assert(
    fc.asyncProperty(oddInstant, fc.constantFrom('from', 'to'), async (at, which) => {
      const res = await app.admin.GET('/admin/orders', { params: { query: which === 'from' ? { from: at, limit: 1 } : { to: at, limit: 1 } } });
      if (res.response.status !== 200) expect(statusAndBody(res)).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
    }),
    {
      numRuns: 150,
      examples: [
        ['0000-01-01', 'from'],
        ['1969-12-31', 'to'],
        ['2026-11-30T00:00+16:00', 'from'],
        ['9999-12-31T23:59-15:59', 'to'],
      ],
    },
  );
  expect((await app.admin.GET('/admin/orders', { params: { query: { from: '0000-01-01' } } })).response.status).toBe(400);
  expect((await app.admin.GET('/admin/orders', { params: { query: { from: '2026-11-30T00:00Z', limit: 1 } } })).response.status).toBe(200);
});

test('whatever the query or body, the console routes answer a problem, never a 500', async () => {
  const text = fc.oneof(
    fc.string({ maxLength: 30 }),
    fc.constantFrom('', 'true', '2026-02-30', '2026-11-30', '2026-11-30T10:00:00Z', '-1', '1e400', 'x'.repeat(300)),
  );
  await fc.assert(
    fc.asyncProperty(fc.dictionary(fc.constantFrom('customerId', 'status', 'from', 'to', 'stuck', 'cursor', 'limit', 'other'), text), async (query) => {
      const res = await app.rawCall('GET', `/admin/orders?${new URLSearchParams(query).toString()}`);
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
        const res = await app.rawCall('POST', '/admin/actions', { body, headers: { 'idempotency-key': key } });
        expect(res.status).toBeLessThan(500);
      },
    ),
    { numRuns: 60 },
  );
});
