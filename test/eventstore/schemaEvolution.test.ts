import { randomUUID } from 'node:crypto';
import type { Decider } from '../../src/domain/decider';
import { ORDER_STREAM_TYPE, orderDecider, type OrderState, orderStreamId } from '../../src/domain/order';
import { START, type Checkpoint, type RecordedEvent } from '../../src/eventstore';
import { getOrderQuery } from '../../src/workflows/orderContract';
import { apiFor, createProduct, statusAndBody, uniqueId, useTestApi } from '../support/harness';
import { sampleAddress, startOrderActor } from '../support/orders';
import { foldStream, readAll, readStream } from '../../src/application/eventStore';
import * as store from '../../src/eventstore';
import { foldRecorded } from '../../src/application/foldStream';
import { handleCommand } from '../../src/application/handleCommand';
import { handleStateStoredCommand } from '../../src/application/handleStateStoredCommand';
import { createUpcasterRegistry, defineUpcaster } from '../../src/domain/upcasting';

/*
 * Event schema evolution end to end: OrderItemAdded v1 rows (no lineTotalCents) written straight
 * into Postgres, as a writer before v2 stored them, are read as v2 everywhere, while the rows
 * themselves stay v1. New writes are v2.
 */

const app = useTestApi();

/** The stored rows of a stream, exactly as they are in the table. */
async function rawRows(streamId: string) {
  const { rows } = await app.pool.query<{ version: string; type: string; schema_version: number; data: Record<string, unknown> }>(
    'SELECT version, type, schema_version, data FROM events WHERE stream_id = $1 ORDER BY version',
    [streamId],
  );
  return rows.map((r) => ({ version: Number(r.version), type: r.type, schemaVersion: r.schema_version, data: r.data }));
}

/** Everything readAll hands a subscriber for one stream, from the start of the global order. */
async function readAllOf(streamId: string, expected: number): Promise<RecordedEvent[]> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const found: RecordedEvent[] = [];
    let after: Checkpoint = START;
    for (;;) {
      const { events, checkpoint } = await readAll(app.pool, { after, limit: 1000 });
      found.push(...events.filter((e) => e.streamId === streamId));
      if (events.length === 0) break;
      after = checkpoint;
    }
    // Gap-safe: rows stay invisible while an older transaction (another test's) is still open.
    if (found.length >= expected || Date.now() > deadline) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('OrderItemAdded v1 rows in an order stream', () => {
  const orderId = uniqueId('legacy');
  const streamId = orderStreamId(orderId);
  const teapot = { productId: 'legacy-teapot', name: 'Teapot' };
  const cup = { productId: 'legacy-cup', name: 'Cup' };
  const v1Rows = [
    { type: 'OrderCreated', data: { orderId, customerId: 'legacy-customer', shippingAddress: sampleAddress } },
    { type: 'OrderItemAdded', data: { ...teapot, unitPriceCents: 2500, quantity: 2 } },
    // The same product again, repriced: its lineTotalCents is this event's own 2300 × 1.
    { type: 'OrderItemAdded', data: { ...teapot, unitPriceCents: 2300, quantity: 1 } },
    { type: 'OrderItemAdded', data: { ...cup, unitPriceCents: 450, quantity: 3 } },
  ];
  const expectedV2 = [
    { type: 'OrderCreated', schemaVersion: 1, data: v1Rows[0]!.data },
    { type: 'OrderItemAdded', schemaVersion: 2, data: { ...teapot, unitPriceCents: 2500, quantity: 2, lineTotalCents: 5000 } },
    { type: 'OrderItemAdded', schemaVersion: 2, data: { ...teapot, unitPriceCents: 2300, quantity: 1, lineTotalCents: 2300 } },
    { type: 'OrderItemAdded', schemaVersion: 2, data: { ...cup, unitPriceCents: 450, quantity: 3, lineTotalCents: 1350 } },
  ];
  const finalState = {
    status: 'PENDING',
    customerId: 'legacy-customer',
    items: [
      { ...teapot, unitPriceCents: 2300, quantity: 3 },
      { ...cup, unitPriceCents: 450, quantity: 3 },
    ],
    totalCents: 3 * 2300 + 3 * 450,
  } satisfies Partial<OrderState>;

  beforeAll(async () => {
    // Raw SQL, one transaction: the rows an old writer left (schema_version 1, no lineTotalCents).
    const db = await app.pool.connect();
    try {
      await db.query('BEGIN');
      await db.query('INSERT INTO streams (stream_id, stream_type, version) VALUES ($1, $2, $3)', [streamId, ORDER_STREAM_TYPE, v1Rows.length]);
      for (const [i, row] of v1Rows.entries()) {
        await db.query(
          `INSERT INTO events (stream_id, stream_type, version, event_id, type, schema_version, data, metadata, occurred_at)
           VALUES ($1, $2, $3, $4, $5, 1, $6, '{}', $7)`,
          [streamId, ORDER_STREAM_TYPE, i + 1, randomUUID(), row.type, JSON.stringify(row.data), new Date(Date.UTC(2024, 0, 1, 12, i)).toISOString()],
        );
      }
      await db.query('COMMIT');
    } finally {
      db.release();
    }
  });

  test('the stored rows are v1 and have no lineTotalCents (the fixture is what an old writer left)', async () => {
    const rows = await rawRows(streamId);
    expect(rows.map((r) => r.schemaVersion)).toEqual([1, 1, 1, 1]);
    expect(rows.filter((r) => r.type === 'OrderItemAdded').every((r) => !('lineTotalCents' in r.data))).toBe(true);
  });

  test('readStream returns them as v2, with the derived lineTotalCents', async () => {
    const events = await readStream(app.pool, streamId);
    expect(events.map(({ type, schemaVersion, data }) => ({ type, schemaVersion, data }))).toEqual(expectedV2);
    expect(events.map((e) => e.version)).toEqual([1, 2, 3, 4]);
    // Also a range read, as time travel does.
    expect((await readStream(app.pool, streamId, { fromVersion: 3, toVersion: 3 }))[0]).toMatchObject(expectedV2[2]!);
  });

  test('readAll hands subscribers the same v2 events', async () => {
    const events = await readAllOf(streamId, v1Rows.length);
    expect(events.map(({ type, schemaVersion, data }) => ({ type, schemaVersion, data }))).toEqual(expectedV2);
    expect(events).toEqual(await readStream(app.pool, streamId));
  });

  test('foldRecorded gives evolve the v2 shape, also for events not read through readStream', async () => {
    const raw = await store.readStream(app.pool, streamId, { schemas: createUpcasterRegistry([]) }); // no upcasting: as stored
    expect(raw[1]).toMatchObject({ schemaVersion: 1, data: { ...teapot, unitPriceCents: 2500, quantity: 2 } });
    expect(raw[1]!.data).not.toHaveProperty('lineTotalCents');
    // A decider that keeps what evolve was handed.
    const seen: Decider<never, Array<{ type: string; data: unknown }>, { type: string; data: unknown }> = {
      initialState: [],
      decide: () => [],
      evolve: (state, event) => [...state, event],
    };
    const expectedEvents = expectedV2.map(({ type, data }) => ({ type, data }));
    expect(foldRecorded(seen, raw)).toEqual(expectedEvents);
    expect(foldRecorded(seen, await readStream(app.pool, streamId))).toEqual(expectedEvents);
    expect(foldRecorded(orderDecider, raw)).toMatchObject(finalState);
  });

  test('foldStream hands evolve the v2 shape too, and folds to the same state and version as foldRecorded over readStream, at every version', async () => {
    const seen = {
      initialState: [] as Array<{ type: string; data: unknown }>,
      evolve: (state: Array<{ type: string; data: unknown }>, { type, data }: { type: string; data: unknown }) => [...state, { type, data }],
    };
    expect((await foldStream(app.pool, streamId, seen)).state).toEqual(expectedV2.map(({ type, data }) => ({ type, data })));
    // Without the domain's upcasters the same rows fold as stored: the v2 shape above is the upcast.
    const asStored = await store.foldStream(app.pool, streamId, seen, { schemas: createUpcasterRegistry([]) });
    expect(asStored.state[1]!.data).not.toHaveProperty('lineTotalCents');
    for (let toVersion = 0; toVersion <= v1Rows.length + 1; toVersion++) {
      const events = await readStream(app.pool, streamId, { toVersion });
      expect(await foldStream(app.pool, streamId, orderDecider, { toVersion })).toEqual({
        state: foldRecorded(orderDecider, events),
        version: events.at(-1)?.version ?? 0,
      });
    }
    expect(await foldStream(app.pool, orderStreamId(uniqueId('no-such-order')), orderDecider)).toEqual({ state: orderDecider.initialState, version: 0 });
  });

  test('time travel (GET /orders/:id/state?version=N) and GET /orders/:id/events see v2', async () => {
    const atTwo = await apiFor(app.api.baseUrl).GET('/orders/{orderId}/state', { params: { path: { orderId }, query: { version: 2 } } });
    expect(statusAndBody(atTwo)).toMatchObject({
      status: 200,
      body: { version: 2, items: [{ ...teapot, unitPriceCents: 2500, quantity: 2 }], totalCents: 5000 },
    });
    const atFour = await apiFor(app.api.baseUrl).GET('/orders/{orderId}/state', { params: { path: { orderId }, query: { version: 4 } } });
    expect(statusAndBody(atFour)).toMatchObject({ status: 200, body: { version: 4, ...finalState } });
    const events = await apiFor(app.api.baseUrl).GET('/orders/{orderId}/events', { params: { path: { orderId } } });
    expect(events.response.status).toBe(200);
    expect(events.data!.events.map(({ type, schemaVersion, data }: RecordedEvent) => ({ type, schemaVersion, data }))).toEqual(expectedV2);
  });

  test('the order actor continues the stream (as after continue-as-new): a new AddItem is stored as v2, the old rows stay v1', async () => {
    const mug = await createProduct(app.pool, 'Mug', 1250);
    const state = foldRecorded(orderDecider, await readStream(app.pool, streamId));
    const handle = await startOrderActor(app.client, orderId, { carried: { state, version: v1Rows.length, ledger: [], lastActivityAt: Date.now() } });
    try {
      const added = await apiFor(app.api.baseUrl).POST('/orders/{orderId}/items', { params: { path: { orderId } }, body: { productId: mug, quantity: 2 } });
      expect(statusAndBody(added)).toMatchObject({ status: 200, body: { version: 5, events: ['OrderItemAdded'] } });

      const rows = await rawRows(streamId);
      expect(rows.map((r) => [r.type, r.schemaVersion])).toEqual([
        ['OrderCreated', 1],
        ['OrderItemAdded', 1],
        ['OrderItemAdded', 1],
        ['OrderItemAdded', 1],
        ['OrderItemAdded', 2],
      ]);
      expect(rows[4]!.data).toEqual({ productId: mug, name: 'Mug', unitPriceCents: 1250, quantity: 2, lineTotalCents: 2500 });
      expect(rows.slice(1, 4).every((r) => !('lineTotalCents' in r.data))).toBe(true);

      // One shape for readers across stored versions, and the fold still equals the actor's state.
      const events = await readStream(app.pool, streamId);
      expect(events.filter((e) => e.type === 'OrderItemAdded').map((e) => [e.schemaVersion, (e.data as { lineTotalCents: number }).lineTotalCents])).toEqual([
        [2, 5000],
        [2, 2300],
        [2, 1350],
        [2, 2500],
      ]);
      const actor = await handle.query(getOrderQuery);
      expect(actor.version).toBe(5);
      expect(foldRecorded(orderDecider, events)).toEqual(actor.state);
      const atFive = await apiFor(app.api.baseUrl).GET('/orders/{orderId}/state', { params: { path: { orderId }, query: { version: 5 } } });
      expect(atFive.data).toMatchObject({ version: 5, totalCents: finalState.totalCents + 2500 });
    } finally {
      await handle.terminate('schema evolution test done');
    }
  });
});

describe('the generic hosts write the current schema version and decide on the current shape', () => {
  // A counter whose event changed shape: v1 {count} became v2 {n, unit}.
  type Counted = { type: 'Counted'; data: { n: number; unit: string } };
  const STREAM_TYPE = 'evolution-counter';
  const schemas = createUpcasterRegistry([
    defineUpcaster<{ count: number }, Counted['data']>({
      streamType: STREAM_TYPE,
      type: 'Counted',
      fromVersion: 1,
      upcast: ({ count }) => ({ n: count, unit: 'legacy' }),
    }),
  ]);
  const counter: Decider<{ add: number }, { total: number; units: string[] }, Counted> = {
    initialState: { total: 0, units: [] },
    decide: ({ add }) => [{ type: 'Counted', data: { n: add, unit: 'each' } }],
    // Reads only v2 fields: a v1 event reaching it unconverted would make the total NaN.
    evolve: (state, { data }) => ({ total: state.total + data.n, units: [...state.units, data.unit] }),
  };
  const options = { newEventId: randomUUID, now: () => new Date(), schemas };

  test('handleCommand folds a stored v1 event as v2 and appends its new event as v2', async () => {
    const stream = { id: uniqueId('evolution-counter'), type: STREAM_TYPE };
    await app.pool.query('INSERT INTO streams (stream_id, stream_type, version) VALUES ($1, $2, 1)', [stream.id, STREAM_TYPE]);
    await app.pool.query(
      `INSERT INTO events (stream_id, stream_type, version, event_id, type, schema_version, data, occurred_at)
       VALUES ($1, $2, 1, $3, 'Counted', 1, '{"count": 5}', now())`,
      [stream.id, STREAM_TYPE, randomUUID()],
    );
    const result = await handleCommand(app.pool, counter, stream, { add: 2 }, options);
    expect(result).toMatchObject({ version: 2, state: { total: 7, units: ['legacy', 'each'] } });
    expect((await rawRows(stream.id)).map((r) => [r.schemaVersion, r.data])).toEqual([
      [1, { count: 5 }],
      [2, { n: 2, unit: 'each' }],
    ]);
  });

  test('handleStateStoredCommand appends its events at the current schema version', async () => {
    const stream = { id: uniqueId('evolution-counter'), type: STREAM_TYPE };
    await handleStateStoredCommand(app.pool, counter, stream, { add: 3 }, options);
    expect((await rawRows(stream.id)).map((r) => [r.schemaVersion, r.data])).toEqual([[2, { n: 3, unit: 'each' }]]);
  });

  test('types without upcasters are stored at version 1 by the application registry', async () => {
    const stream = { id: uniqueId('evolution-counter'), type: STREAM_TYPE };
    await handleCommand(app.pool, counter, stream, { add: 1 }, { newEventId: randomUUID, now: () => new Date() });
    expect((await rawRows(stream.id)).map((r) => r.schemaVersion)).toEqual([1]);
  });
});
