import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Pool } from '../../src/db/pool';
import { appendToStream, type EventData, type Queryable, type RecordedEvent } from '../../src/eventstore';
import { registry } from '../../src/metrics';
import { Projector, PROJECTION_LOCK, type Projection, type ProjectorOptions } from '../../src/projections';
import { apiFor, rawHttp, startTestApi, statusAndBody, testClient, testEnv, testPool, uniqueId } from '../support/harness';

/*
 * The projector against real Postgres, with test projections that record every event they are
 * handed (no dedup of their own), so a skipped or doubly counted event shows. Other test files
 * append to the same table at the same time: each test compares only the streams it created.
 */

let pool: Pool;
/** A second instance's pool, as another worker process would have. */
let otherPool: Pool;
let client: Client;
const projectors: Projector[] = [];

beforeAll(async () => {
  pool = testPool(30);
  otherPool = testPool(5);
  client = await testClient();
  await pool.query(`CREATE TABLE IF NOT EXISTS projector_test_applied (
      projection text NOT NULL, event_id uuid NOT NULL, stream_id text NOT NULL, version bigint NOT NULL)`);
});

afterAll(async () => {
  await Promise.all(projectors.map((p) => p.stop()));
  await client.connection.close();
  await Promise.all([pool.end(), otherPool.end()]);
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function recordingProjection(
  streamType: string,
  name = uniqueId('ptest').replace(/-/g, '_'),
  before?: (tx: Queryable, e: RecordedEvent) => Promise<void>,
): Projection {
  return {
    name,
    streamTypes: [streamType],
    async applyStream(tx, events) {
      for (const event of events) {
        await before?.(tx, event);
        await tx.query('INSERT INTO projector_test_applied (projection, event_id, stream_id, version) VALUES ($1, $2, $3, $4)', [
          name,
          event.eventId,
          event.streamId,
          event.version,
        ]);
      }
    },
  };
}

function startProjector(projections: Projection[], options: ProjectorOptions = {}, on: Pool = pool): Projector {
  const projector = new Projector(on, testEnv.databaseUrl, projections, { lockRetryMs: 50, ...options }).start();
  projectors.push(projector);
  return projector;
}

const newEvents = (count: number, type = 'Happened'): EventData[] =>
  Array.from({ length: count }, () => ({ eventId: randomUUID(), type, data: { n: Math.floor(Math.random() * 100) }, occurredAt: new Date() }));

/** The model: every event id the projection was handed, with repeats. */
async function applied(projection: string): Promise<string[]> {
  const { rows } = await pool.query<{ event_id: string }>('SELECT event_id FROM projector_test_applied WHERE projection = $1', [projection]);
  return rows.map((r) => r.event_id).sort();
}

/** The fold of the event table for our streams: each event once. */
async function stored(streamType: string): Promise<string[]> {
  const { rows } = await pool.query<{ event_id: string }>('SELECT event_id FROM events WHERE stream_type = $1', [streamType]);
  return rows.map((r) => r.event_id).sort();
}

/** Waits until the model has as many events as the table, then a little longer so a duplicate would show. */
async function settled(projection: string, streamType: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [model, table] = await Promise.all([applied(projection), stored(streamType)]);
    if (model.length >= table.length) break;
    if (Date.now() > deadline) throw new Error(`projection ${projection} has ${model.length} of ${table.length} events`);
    await sleep(20);
  }
  await sleep(300);
}

test('16 concurrent writers and one late-committing transaction: the model holds every event exactly once', async () => {
  const streamType = uniqueId('ptype');
  const projection = recordingProjection(streamType);
  startProjector([projection], { batchSize: 7 });
  const streams = Array.from({ length: 24 }, () => uniqueId('pstream'));

  // A long transaction appends first and commits after everyone else.
  const slow = await pool.connect();
  await slow.query('BEGIN');
  await appendToStream(slow, uniqueId('pslow'), streamType, 'no_stream', newEvents(2, 'Slow'));

  let written = 2;
  await Promise.all(
    Array.from({ length: 16 }, async (_, w) => {
      for (let i = 0; i < 10; i++) {
        const streamId = streams[(w * 7 + i * 5) % streams.length]!;
        const batch = newEvents(1 + ((w + i) % 3));
        await appendToStream(pool, streamId, streamType, 'any', batch);
        written += batch.length;
        await sleep(Math.floor(Math.random() * 4));
      }
    }),
  );
  // While the slow transaction is open, nothing after it may be skipped by a checkpoint.
  await sleep(200);
  const beforeCommit = await applied(projection.name);
  expect(beforeCommit.length).toBeLessThanOrEqual((await stored(streamType)).length);
  await slow.query('COMMIT');
  slow.release();

  await settled(projection.name, streamType);
  const table = await stored(streamType);
  expect(table.length).toBe(written);
  expect(await applied(projection.name)).toEqual(table);
});

/** The backend that holds `projection`'s advisory lock: the session of the instance running it. */
async function holderPid(projection: string): Promise<number | undefined> {
  const { rows } = await pool.query<{ pid: number }>(
    `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = $1::int::oid AND objid = hashtext($2)::oid AND objsubid = 2`,
    [PROJECTION_LOCK, projection],
  );
  return rows[0]?.pid;
}

/** order_actors_projector_leader of `projection` in this process (both instances of a test share the registry). */
async function leaderGauge(projection: string): Promise<number | undefined> {
  const { values } = await registry.getSingleMetric('order_actors_projector_leader')!.get();
  return values.find((v) => v.labels.projection === projection)?.value;
}

/** Waits (without a time assertion: a generous deadline) until `check` holds. */
async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await sleep(20);
  }
}

test('an append wakes the projector through LISTEN, also after its connection was killed and came back', async () => {
  const streamType = uniqueId('ptype');
  const projection = recordingProjection(streamType);
  // Its safety-net poll is longer than the test: only a notification (or a held-back readAll) makes it read.
  const projector = startProjector([projection], { idleMs: 600_000 });
  const streamId = uniqueId('pwake');
  await eventually('the projector runs the projection', () => projector.running().includes(projection.name));
  await sleep(400); // past QUIET_AFTER_MS (250 ms): it waits for a notification now
  await appendToStream(pool, streamId, streamType, 'no_stream', newEvents(2));
  await settled(projection.name, streamType);

  await pool.query('SELECT pg_terminate_backend($1)', [await holderPid(projection.name)]);
  await eventually('it lost the lock with its connection', () => !projector.running().includes(projection.name));
  await eventually('it connected and took the lock again', () => projector.running().includes(projection.name));
  await sleep(400);
  await appendToStream(pool, streamId, streamType, 2, newEvents(3));
  await settled(projection.name, streamType);
  expect(await applied(projection.name)).toEqual(await stored(streamType));
});

test('a crash mid-batch (connection killed inside apply, or failure between apply and commit) leaves the model exact after restart', async () => {
  const streamType = uniqueId('ptype');
  const name = uniqueId('pcrash').replace(/-/g, '_');
  let killedConnection = 0;
  let failedBeforeCommit = 0;
  const projection = recordingProjection(streamType, name, async (tx, event) => {
    // The 5th event of ours: the backend dies under the batch's transaction.
    if (event.version === 5 && killedConnection === 0) {
      killedConnection++;
      await tx.query('SELECT pg_terminate_backend(pg_backend_pid())');
    }
  });
  const streamId = uniqueId('pcrash-stream');
  await appendToStream(pool, streamId, streamType, 'no_stream', newEvents(12));

  const first = startProjector([projection], {
    batchSize: 4,
    beforeCommit: async (_name, events) => {
      // Once: the batch holding version 9 dies after its applies, before its commit.
      if (failedBeforeCommit === 0 && events.some((e) => e.streamId === streamId && e.version === 9)) {
        failedBeforeCommit++;
        throw new Error('simulated crash between apply and commit');
      }
    },
  });
  await settled(name, streamType);
  expect(killedConnection).toBe(1);
  expect(failedBeforeCommit).toBe(1);
  expect(await applied(name)).toEqual(await stored(streamType));

  // Restart: a new instance goes on from the committed checkpoint, with nothing twice.
  await first.stop();
  expect(await leaderGauge(name)).toBe(0);
  await appendToStream(pool, streamId, streamType, 12, newEvents(5));
  startProjector([projection]);
  await settled(name, streamType);
  expect(await applied(name)).toEqual(await stored(streamType));
  const parked = await pool.query('SELECT 1 FROM dead_letters WHERE projection = $1', [name]);
  expect(parked.rowCount).toBe(0); // a crash is not the event's fault
});

test('two instances on their own pools: one runs the projection, the other takes over when it stops; each event once', async () => {
  const streamType = uniqueId('ptype');
  const projection = recordingProjection(streamType);
  const a = startProjector([projection]);
  const b = startProjector([projection], {}, otherPool);
  const streamId = uniqueId('pfailover');
  await appendToStream(pool, streamId, streamType, 'no_stream', newEvents(10));
  await settled(projection.name, streamType);
  const runners = [a, b].filter((p) => p.running().includes(projection.name));
  expect(runners).toHaveLength(1);
  const [active] = runners;
  const standby = active === a ? b : a;

  await active!.stop();
  await appendToStream(pool, streamId, streamType, 10, newEvents(10));
  await settled(projection.name, streamType);
  expect(standby.running()).toEqual([projection.name]);
  expect(await leaderGauge(projection.name)).toBe(1);
  expect(await applied(projection.name)).toEqual(await stored(streamType));
});

test('the session holding the lock is killed mid-stream: the standby takes over from the checkpoint, the old holder stands by; each event once', async () => {
  const streamType = uniqueId('ptype');
  const projection = recordingProjection(streamType);
  const instances = [startProjector([projection], { batchSize: 3 }), startProjector([projection], { batchSize: 3 }, otherPool)];
  const leader = () => instances.filter((p) => p.running().includes(projection.name));
  await eventually('one instance runs the projection', () => leader().length === 1);
  const streamId = uniqueId('pkill');
  let version = 0;
  // Appends keep coming while the holder is killed, twice, so a hand-over happens in both directions.
  const writing = (async () => {
    for (let i = 0; i < 60; i++) {
      const batch = newEvents(1 + (i % 3));
      await appendToStream(pool, streamId, streamType, version === 0 ? 'no_stream' : version, batch);
      version += batch.length;
      await sleep(5);
    }
  })();
  for (let kill = 0; kill < 2; kill++) {
    const [holder] = leader();
    const other = instances.find((p) => p !== holder)!;
    await eventually('some of the events are projected', async () => (await applied(projection.name)).length > 0);
    const pid = await holderPid(projection.name);
    expect(pid).toBeDefined();
    await pool.query('SELECT pg_terminate_backend($1)', [pid]);
    await eventually('the standby took over', () => other.running().includes(projection.name));
    // The old holder reconnected and found the lock taken: it stands by, only one instance runs.
    expect(holder!.running()).toEqual([]);
    expect(leader()).toEqual([other]);
    expect(await leaderGauge(projection.name)).toBe(1);
  }
  await writing;
  await settled(projection.name, streamType);
  expect(leader()).toHaveLength(1);
  expect(await applied(projection.name)).toEqual(await stored(streamType));
  expect((await stored(streamType)).length).toBe(version);
});

describe('dead letters', () => {
  test('an event whose handler keeps throwing is parked after 3 attempts; the projection moves on; retry applies it', async () => {
    const streamType = uniqueId('ptype');
    const poisoned = new Set<string>();
    const attempts = new Map<string, number>();
    const projection = recordingProjection(streamType, undefined, async (_tx, event) => {
      if (poisoned.has(event.eventId)) {
        attempts.set(event.eventId, (attempts.get(event.eventId) ?? 0) + 1);
        throw new Error(`cannot handle ${event.eventId}`);
      }
    });
    const api = await startTestApi({ client, pool, projections: [projection] });
    try {
      startProjector([projection]);
      const streamId = uniqueId('pdead');
      const events = newEvents(6);
      poisoned.add(events[2]!.eventId);
      await appendToStream(pool, streamId, streamType, 'no_stream', events);

      const deadline = Date.now() + 10_000;
      let listed: any[] = [];
      while (listed.length === 0) {
        if (Date.now() > deadline) throw new Error('nothing was parked');
        listed = (await apiFor(api.baseUrl).GET('/admin/dead-letters', { params: { query: { projection: projection.name } } })).data!.deadLetters;
        await sleep(20);
      }
      expect(listed).toEqual([
        expect.objectContaining({
          projection: projection.name,
          eventId: events[2]!.eventId,
          streamId,
          version: 3,
          attempts: 3,
          error: `cannot handle ${events[2]!.eventId}`,
        }),
      ]);
      // Once in its stream's grouped apply, which failed and fell back to 3 attempts alone.
      expect(attempts.get(events[2]!.eventId)).toBe(4);
      // It moved on: every other event is in the model, the parked one is not.
      while ((await applied(projection.name)).length < events.length - 1) {
        if (Date.now() > deadline) throw new Error('the projection did not move on past the parked event');
        await sleep(20);
      }
      await sleep(200);
      expect(await applied(projection.name)).toEqual(
        events
          .filter((_, i) => i !== 2)
          .map((e) => e.eventId)
          .sort(),
      );

      const status = (await apiFor(api.baseUrl).GET('/admin/projections')).data!.projections;
      expect(status).toEqual([expect.objectContaining({ name: projection.name, state: 'running', parkedEvents: 1 })]);

      // A retry that fails again keeps it, with one more attempt.
      const again = await apiFor(api.baseUrl).POST('/admin/dead-letters/{id}/retry', { params: { path: { id: listed[0].id } } });
      expect(statusAndBody(again)).toMatchObject({ status: 409, body: { code: 'DEAD_LETTER_RETRY_FAILED', deadLetter: { attempts: 4 } } });

      poisoned.clear();
      const retried = await apiFor(api.baseUrl).POST('/admin/dead-letters/{id}/retry', { params: { path: { id: listed[0].id } } });
      expect(statusAndBody(retried)).toMatchObject({ status: 200, body: { status: 'applied', deadLetter: { eventId: events[2]!.eventId } } });
      expect(await applied(projection.name)).toEqual(events.map((e) => e.eventId).sort());
      expect((await apiFor(api.baseUrl).GET('/admin/dead-letters', { params: { query: { projection: projection.name } } })).data!.deadLetters).toEqual([]);
      expect(statusAndBody(await apiFor(api.baseUrl).POST('/admin/dead-letters/{id}/retry', { params: { path: { id: listed[0].id } } }))).toMatchObject({
        status: 404,
        body: { code: 'DEAD_LETTER_NOT_FOUND' },
      });
      expect((await rawHttp(api.baseUrl, 'POST', '/admin/dead-letters/abc/retry')).body.code).toBe('VALIDATION_FAILED');
    } finally {
      await api.close();
    }
  });

  test('a failed grouped apply is rolled back and its batch applied event by event: only the poisoned event is parked', async () => {
    const streamType = uniqueId('ptype');
    const calls = new Map<string, number>();
    let poisoned = '';
    const projection = recordingProjection(streamType, undefined, async (_tx, event) => {
      calls.set(event.eventId, (calls.get(event.eventId) ?? 0) + 1);
      if (event.eventId === poisoned) throw new Error('poisoned');
    });
    // Three streams in one transaction, so they reach the projection in one batch.
    const streams = [uniqueId('pgroup'), uniqueId('pgroup'), uniqueId('pgroup')];
    const perStream = streams.map(() => newEvents(4));
    poisoned = perStream[1]![1]!.eventId;
    const tx = await pool.connect();
    try {
      await tx.query('BEGIN');
      for (const [i, streamId] of streams.entries()) await appendToStream(tx, streamId, streamType, 'no_stream', perStream[i]!);
      await tx.query('COMMIT');
    } finally {
      tx.release();
    }
    startProjector([projection]);
    const healthy = perStream
      .flat()
      .filter((e) => e.eventId !== poisoned)
      .map((e) => e.eventId)
      .sort();
    const deadline = Date.now() + 10_000;
    while ((await applied(projection.name)).length < healthy.length) {
      if (Date.now() > deadline) throw new Error('the healthy events were not applied');
      await sleep(20);
    }
    await sleep(200);
    // Writes of the streams applied before the failure were rolled back: every healthy event once.
    expect(await applied(projection.name)).toEqual(healthy);
    const parked = await pool.query('SELECT event_id, attempts FROM dead_letters WHERE projection = $1', [projection.name]);
    expect(parked.rows).toEqual([{ event_id: poisoned, attempts: 3 }]);
    expect(calls.get(poisoned)).toBe(4); // once grouped, 3 times alone
    // The first stream was applied grouped, rolled back, then applied alone: twice each.
    for (const e of perStream[0]!) expect(calls.get(e.eventId)).toBe(2);
  });
});
