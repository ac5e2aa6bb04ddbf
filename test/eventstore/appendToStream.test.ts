import { randomUUID } from 'node:crypto';
import type { Pool } from '../../src/db/pool';
import { appendToStream, WrongExpectedVersion, type AppendResult, type EventData, type ExpectedVersion } from '../../src/eventstore';
import { testPool, uniqueId } from '../support/harness';
import { readStream } from '../../src/application/eventStore';

/*
 * The append contract against real Postgres. The database is shared with other test files running
 * at the same time: every test writes only to streams it named with uniqueId() and only looks at those.
 */

const STREAM_TYPE = 'eventstore-test';
const WRITERS = 32;

let pool: Pool;

beforeAll(async () => {
  pool = testPool(40);
  // Open the connections up front, so concurrent tests race on rows and not on connection setup.
  const clients = await Promise.all(Array.from({ length: WRITERS + 2 }, () => pool.connect()));
  clients.forEach((c) => c.release());
});

afterAll(async () => {
  await pool.end();
});

function newEvent(type = 'Happened', data: unknown = { n: Math.random() }): EventData {
  return { eventId: randomUUID(), type, data, occurredAt: new Date('2024-05-01T12:00:00.000Z') };
}

function newEvents(count: number): EventData[] {
  return Array.from({ length: count }, (_, i) => newEvent(`Happened${i + 1}`, { i }));
}

const ids = (events: readonly { eventId: string }[]) => events.map((e) => e.eventId);

/** What the tables hold for one stream, straight from SQL (not through the code under test). */
async function stored(streamId: string): Promise<{ streamVersion: number | null; events: { version: number; eventId: string }[] }> {
  const stream = await pool.query<{ version: string }>('SELECT version FROM streams WHERE stream_id = $1', [streamId]);
  const events = await pool.query<{ version: string; event_id: string }>('SELECT version, event_id FROM events WHERE stream_id = $1 ORDER BY version', [
    streamId,
  ]);
  return {
    streamVersion: stream.rows[0] ? Number(stream.rows[0].version) : null,
    events: events.rows.map((r) => ({ version: Number(r.version), eventId: r.event_id })),
  };
}

async function countStored(eventIds: readonly string[]): Promise<number> {
  const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM events WHERE event_id = ANY($1::uuid[])', [eventIds]);
  return Number(rows[0]!.n);
}

/** Awaits a promise that must reject with WrongExpectedVersion, and returns the error. */
async function wrongVersion(promise: Promise<unknown>): Promise<WrongExpectedVersion> {
  const outcome = await promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  if (outcome.ok) throw new Error(`expected WrongExpectedVersion, but the append succeeded: ${JSON.stringify(outcome.value)}`);
  expect(outcome.error).toBeInstanceOf(WrongExpectedVersion);
  return outcome.error as WrongExpectedVersion;
}

/** Seeds a stream with `count` events, one append, through 'no_stream'. */
async function seed(streamId: string, count: number): Promise<EventData[]> {
  const events = newEvents(count);
  await expect(appendToStream(pool, streamId, STREAM_TYPE, 'no_stream', events)).resolves.toEqual({
    nextExpectedVersion: count,
    alreadyAppended: false,
  });
  return events;
}

describe('expected version', () => {
  test("'no_stream' creates the stream at version 1 and fails once it exists, writing nothing", async () => {
    const streamId = uniqueId('es-nostream');
    const first = newEvents(2);
    await expect(appendToStream(pool, streamId, STREAM_TYPE, 'no_stream', first)).resolves.toEqual({
      nextExpectedVersion: 2,
      alreadyAppended: false,
    });
    expect(await stored(streamId)).toEqual({
      streamVersion: 2,
      events: [
        { version: 1, eventId: first[0]!.eventId },
        { version: 2, eventId: first[1]!.eventId },
      ],
    });

    const late = newEvents(1);
    const err = await wrongVersion(appendToStream(pool, streamId, STREAM_TYPE, 'no_stream', late));
    expect(err).toMatchObject({ name: 'WrongExpectedVersion', streamId, expected: 'no_stream', actual: 2 });
    expect(err.message).toContain(streamId);
    expect(await stored(streamId)).toMatchObject({ streamVersion: 2, events: [{ version: 1 }, { version: 2 }] });
    expect(await countStored(ids(late))).toBe(0);
  });

  test('expected version 0 behaves as no_stream', async () => {
    const streamId = uniqueId('es-zero');
    const first = newEvents(1);
    await expect(appendToStream(pool, streamId, STREAM_TYPE, 0, first)).resolves.toEqual({ nextExpectedVersion: 1, alreadyAppended: false });
    expect(await stored(streamId)).toEqual({ streamVersion: 1, events: [{ version: 1, eventId: first[0]!.eventId }] });

    const late = newEvents(2);
    const err = await wrongVersion(appendToStream(pool, streamId, STREAM_TYPE, 0, late));
    expect(err).toMatchObject({ streamId, expected: 0, actual: 1 });
    expect(await stored(streamId)).toEqual({ streamVersion: 1, events: [{ version: 1, eventId: first[0]!.eventId }] });
    expect(await countStored(ids(late))).toBe(0);
  });

  test('an exact version appends right after it and rejects a stale or future version, writing nothing', async () => {
    const streamId = uniqueId('es-exact');
    await seed(streamId, 2);
    const third = newEvents(1);
    await expect(appendToStream(pool, streamId, STREAM_TYPE, 2, third)).resolves.toEqual({ nextExpectedVersion: 3, alreadyAppended: false });
    expect((await stored(streamId)).events.at(-1)).toEqual({ version: 3, eventId: third[0]!.eventId });

    for (const expected of [1, 2, 4, 10]) {
      const attempt = newEvents(2);
      const err = await wrongVersion(appendToStream(pool, streamId, STREAM_TYPE, expected, attempt));
      expect(err).toMatchObject({ streamId, expected, actual: 3 });
      expect(await countStored(ids(attempt))).toBe(0);
    }
    const after = await stored(streamId);
    expect(after.streamVersion).toBe(3);
    expect(after.events.map((e) => e.version)).toEqual([1, 2, 3]);
  });

  test('an exact version on a stream that does not exist fails with actual 0 and creates nothing', async () => {
    const streamId = uniqueId('es-exact-missing');
    const attempt = newEvents(1);
    const err = await wrongVersion(appendToStream(pool, streamId, STREAM_TYPE, 1, attempt));
    expect(err).toMatchObject({ streamId, expected: 1, actual: 0 });
    expect(await stored(streamId)).toEqual({ streamVersion: null, events: [] });
    expect(await countStored(ids(attempt))).toBe(0);
  });

  test("'stream_exists' fails on a missing stream, creating nothing, and appends to an existing one", async () => {
    const streamId = uniqueId('es-exists');
    const early = newEvents(1);
    const err = await wrongVersion(appendToStream(pool, streamId, STREAM_TYPE, 'stream_exists', early));
    expect(err).toMatchObject({ streamId, expected: 'stream_exists', actual: 0 });
    expect(await stored(streamId)).toEqual({ streamVersion: null, events: [] });
    expect(await countStored(ids(early))).toBe(0);

    await seed(streamId, 3);
    const more = newEvents(2);
    await expect(appendToStream(pool, streamId, STREAM_TYPE, 'stream_exists', more)).resolves.toEqual({
      nextExpectedVersion: 5,
      alreadyAppended: false,
    });
    expect((await stored(streamId)).events.slice(3)).toEqual([
      { version: 4, eventId: more[0]!.eventId },
      { version: 5, eventId: more[1]!.eventId },
    ]);
  });

  test("'any' creates a missing stream and appends to an existing one at whatever version it is", async () => {
    const streamId = uniqueId('es-any');
    const first = newEvents(2);
    await expect(appendToStream(pool, streamId, STREAM_TYPE, 'any', first)).resolves.toEqual({ nextExpectedVersion: 2, alreadyAppended: false });
    const second = newEvents(1);
    await expect(appendToStream(pool, streamId, STREAM_TYPE, 'any', second)).resolves.toEqual({ nextExpectedVersion: 3, alreadyAppended: false });
    expect(await stored(streamId)).toEqual({
      streamVersion: 3,
      events: [...first, ...second].map((e, i) => ({ version: i + 1, eventId: e.eventId })),
    });
  });

  test('invalid arguments are rejected before touching the database', async () => {
    const streamId = uniqueId('es-invalid');
    for (const expected of [-1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1]) {
      const error = await appendToStream(pool, streamId, STREAM_TYPE, expected, newEvents(1)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect(error).not.toBeInstanceOf(WrongExpectedVersion);
      expect((error as Error).message).toMatch(/Invalid expected version/);
    }
    await expect(appendToStream(pool, streamId, STREAM_TYPE, 'any', [])).rejects.toThrow(/at least one event/);
    expect(await stored(streamId)).toEqual({ streamVersion: null, events: [] });
  });
});

describe('idempotent appends', () => {
  test('the same events at the same expected version are a no-op that reports alreadyAppended', async () => {
    const streamId = uniqueId('es-idem');
    const created = newEvents(1);
    const first = await appendToStream(pool, streamId, STREAM_TYPE, 'no_stream', created);
    expect(first).toEqual({ nextExpectedVersion: 1, alreadyAppended: false });
    await expect(appendToStream(pool, streamId, STREAM_TYPE, 'no_stream', created)).resolves.toEqual({
      nextExpectedVersion: 1,
      alreadyAppended: true,
    });
    await expect(appendToStream(pool, streamId, STREAM_TYPE, 0, created)).resolves.toEqual({ nextExpectedVersion: 1, alreadyAppended: true });

    const batch = newEvents(3);
    const appended = await appendToStream(pool, streamId, STREAM_TYPE, 1, batch);
    expect(appended).toEqual({ nextExpectedVersion: 4, alreadyAppended: false });
    // A retry of the batch, several times, even after the stream has moved on.
    const later = newEvents(1);
    await appendToStream(pool, streamId, STREAM_TYPE, 4, later);
    for (let retry = 0; retry < 3; retry++) {
      await expect(appendToStream(pool, streamId, STREAM_TYPE, 1, batch)).resolves.toEqual({ nextExpectedVersion: 4, alreadyAppended: true });
    }
    // The first event again, after everything else.
    await expect(appendToStream(pool, streamId, STREAM_TYPE, 'no_stream', created)).resolves.toEqual({
      nextExpectedVersion: 1,
      alreadyAppended: true,
    });

    expect(await stored(streamId)).toEqual({
      streamVersion: 5,
      events: [...created, ...batch, ...later].map((e, i) => ({ version: i + 1, eventId: e.eventId })),
    });
    expect(await countStored(ids([...created, ...batch, ...later]))).toBe(5);
  });

  test("a retried 'any' or 'stream_exists' append of stored events is a no-op too", async () => {
    const streamId = uniqueId('es-idem-any');
    const [a] = await seed(streamId, 1);
    const viaAny = newEvents(2);
    await expect(appendToStream(pool, streamId, STREAM_TYPE, 'any', viaAny)).resolves.toEqual({ nextExpectedVersion: 3, alreadyAppended: false });
    await expect(appendToStream(pool, streamId, STREAM_TYPE, 'any', viaAny)).resolves.toEqual({ nextExpectedVersion: 3, alreadyAppended: true });
    const viaExists = newEvents(1);
    await expect(appendToStream(pool, streamId, STREAM_TYPE, 'stream_exists', viaExists)).resolves.toEqual({
      nextExpectedVersion: 4,
      alreadyAppended: false,
    });
    await expect(appendToStream(pool, streamId, STREAM_TYPE, 'stream_exists', viaExists)).resolves.toEqual({
      nextExpectedVersion: 4,
      alreadyAppended: true,
    });
    // The retries bumped nothing: the stream's version and its rows are exactly the four appends.
    expect(await stored(streamId)).toEqual({
      streamVersion: 4,
      events: [a!, ...viaAny, ...viaExists].map((e, i) => ({ version: i + 1, eventId: e.eventId })),
    });
  });

  test('the same event ids at a different expected version are WrongExpectedVersion, and write nothing', async () => {
    const streamId = uniqueId('es-idem-moved');
    const [a, b] = await seed(streamId, 2);
    const c = newEvent();
    await appendToStream(pool, streamId, STREAM_TYPE, 2, [c]);

    // b is stored at version 2, i.e. it was appended at expected version 1. At 2 or 5 the version
    // claim fails (the stream is at 3); at 3 the claim succeeds and the insert hits b's unique id.
    for (const expected of [2, 3, 5] as const) {
      const err = await wrongVersion(appendToStream(pool, streamId, STREAM_TYPE, expected, [b!]));
      expect(err).toMatchObject({ streamId, expected, actual: 3 });
    }
    // c is stored at version 3; 'no_stream' and 0 say it is the first event of the stream.
    for (const expected of ['no_stream', 0] as const) {
      const err = await wrongVersion(appendToStream(pool, streamId, STREAM_TYPE, expected, [c]));
      expect(err).toMatchObject({ streamId, expected, actual: 3 });
    }
    // a and b as a batch at the wrong place.
    const err = await wrongVersion(appendToStream(pool, streamId, STREAM_TYPE, 3, [a!, b!]));
    expect(err).toMatchObject({ expected: 3, actual: 3 });

    expect(await stored(streamId)).toEqual({
      streamVersion: 3,
      events: [a!, b!, c].map((e, i) => ({ version: i + 1, eventId: e.eventId })),
    });
  });

  test('different event ids at a taken version, or a batch only partly stored, are WrongExpectedVersion', async () => {
    const streamId = uniqueId('es-taken');
    const [a, b] = await seed(streamId, 2);
    const other = newEvents(1);
    const err = await wrongVersion(appendToStream(pool, streamId, STREAM_TYPE, 1, other));
    expect(err).toMatchObject({ streamId, expected: 1, actual: 2 });
    expect(await countStored(ids(other))).toBe(0);

    // The stored b with a new event after it: not a retry of what was appended.
    const fresh = newEvent();
    const partial = await wrongVersion(appendToStream(pool, streamId, STREAM_TYPE, 1, [b!, fresh]));
    expect(partial).toMatchObject({ expected: 1, actual: 2 });
    // The same at the current version: the claim succeeds, the insert fails on b's id, nothing stays.
    const partialAtHead = await wrongVersion(appendToStream(pool, streamId, STREAM_TYPE, 2, [fresh, b!]));
    expect(partialAtHead).toMatchObject({ expected: 2, actual: 2 });
    expect(await countStored([fresh.eventId])).toBe(0);

    // The same events in a different order are not the same append either.
    await wrongVersion(appendToStream(pool, streamId, STREAM_TYPE, 'no_stream', [b!, a!]));

    expect(await stored(streamId)).toEqual({
      streamVersion: 2,
      events: [a!, b!].map((e, i) => ({ version: i + 1, eventId: e.eventId })),
    });
  });

  test('an event id stored in another stream is not a retry of an append to this one', async () => {
    const streamA = uniqueId('es-owner');
    const streamB = uniqueId('es-thief');
    const [a] = await seed(streamA, 1);
    const err = await wrongVersion(appendToStream(pool, streamB, STREAM_TYPE, 'no_stream', [a!]));
    expect(err).toMatchObject({ streamId: streamB, expected: 'no_stream', actual: 0 });
    const viaAny = await wrongVersion(appendToStream(pool, streamB, STREAM_TYPE, 'any', [a!]));
    expect(viaAny).toMatchObject({ streamId: streamB, expected: 'any', actual: 0 });
    expect(await stored(streamB)).toEqual({ streamVersion: null, events: [] });
    expect(await stored(streamA)).toEqual({ streamVersion: 1, events: [{ version: 1, eventId: a!.eventId }] });
  });
});

describe('batches and reading a stream', () => {
  test('a batch gets consecutive versions in order, in one transaction, with what was given stored as given', async () => {
    const streamId = uniqueId('es-batch');
    const batch: EventData[] = [
      { eventId: randomUUID(), type: 'OrderCreated', data: { orderId: 'o-1', nested: { list: [1, 2, 3] } }, occurredAt: '2024-05-01T10:00:00.000Z' },
      {
        eventId: randomUUID(),
        type: 'ItemAdded',
        data: { sku: 'tea', qty: 2 },
        schemaVersion: 3,
        metadata: { correlationId: 'corr-1', causationId: 'cause-1', custom: true },
        occurredAt: new Date('2024-05-01T10:00:01.500Z'),
      },
      { eventId: randomUUID(), type: 'Noted', data: null, occurredAt: new Date('2024-05-01T10:00:02.000Z') },
      { eventId: randomUUID(), type: 'Listed', data: ['a', 'b'], occurredAt: new Date('2024-05-01T10:00:03.000Z') },
      { eventId: randomUUID(), type: 'Counted', data: 42, occurredAt: new Date('2024-05-01T10:00:04.000Z') },
    ];
    await expect(appendToStream(pool, streamId, STREAM_TYPE, 'no_stream', batch)).resolves.toEqual({
      nextExpectedVersion: 5,
      alreadyAppended: false,
    });
    const recorded = await readStream(pool, streamId);
    expect(recorded.map((e) => [e.version, e.eventId, e.type])).toEqual(batch.map((e, i) => [i + 1, e.eventId, e.type]));
    expect(recorded[0]).toMatchObject({
      streamId,
      streamType: STREAM_TYPE,
      data: { orderId: 'o-1', nested: { list: [1, 2, 3] } },
      schemaVersion: 1,
      metadata: {},
      occurredAt: '2024-05-01T10:00:00.000Z',
    });
    expect(recorded[1]).toMatchObject({
      data: { sku: 'tea', qty: 2 },
      schemaVersion: 3,
      metadata: { correlationId: 'corr-1', causationId: 'cause-1', custom: true },
      occurredAt: '2024-05-01T10:00:01.500Z',
    });
    expect(recorded.slice(2).map((e) => e.data)).toEqual([null, ['a', 'b'], 42]);
    // One statement: one writer transaction, global positions increasing with the versions.
    expect(new Set(recorded.map((e) => e.transactionId)).size).toBe(1);
    for (let i = 1; i < recorded.length; i++) expect(recorded[i]!.globalPosition).toBeGreaterThan(recorded[i - 1]!.globalPosition);
    expect(Number.isNaN(Date.parse(recorded[0]!.recordedAt))).toBe(false);

    const next = newEvents(3);
    await expect(appendToStream(pool, streamId, STREAM_TYPE, 5, next)).resolves.toEqual({ nextExpectedVersion: 8, alreadyAppended: false });
    const all = await readStream(pool, streamId);
    expect(all.map((e) => e.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(all.map((e) => e.eventId)).toEqual(ids([...batch, ...next]));
    expect(all[5]!.transactionId).not.toBe(all[4]!.transactionId);
  });

  test('readStream honours fromVersion and toVersion (inclusive)', async () => {
    const streamId = uniqueId('es-range');
    const events = await seed(streamId, 8);
    const versions = async (range: { fromVersion?: number; toVersion?: number }) => (await readStream(pool, streamId, range)).map((e) => e.version);

    expect(await versions({})).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(await versions({ fromVersion: 3, toVersion: 6 })).toEqual([3, 4, 5, 6]);
    expect(await versions({ fromVersion: 7 })).toEqual([7, 8]);
    expect(await versions({ toVersion: 2 })).toEqual([1, 2]);
    expect(await versions({ fromVersion: 4, toVersion: 4 })).toEqual([4]);
    expect(await versions({ fromVersion: 9 })).toEqual([]);
    expect(await versions({ fromVersion: 6, toVersion: 5 })).toEqual([]);
    expect(await versions({ fromVersion: 0, toVersion: 100 })).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect((await readStream(pool, streamId, { fromVersion: 3, toVersion: 6 })).map((e) => e.eventId)).toEqual(ids(events.slice(2, 6)));
    expect(await readStream(pool, uniqueId('es-range-missing'))).toEqual([]);
  });
});

describe('the events table is append-only', () => {
  test('UPDATE and DELETE are refused by the trigger and change nothing', async () => {
    const streamId = uniqueId('es-immutable');
    const [event] = await seed(streamId, 1);
    const before = await readStream(pool, streamId);

    await expect(pool.query(`UPDATE events SET type = 'Tampered' WHERE event_id = $1`, [event!.eventId])).rejects.toThrow(
      /events are append-only: UPDATE is not allowed/,
    );
    await expect(pool.query(`UPDATE events SET data = '{"x":1}'::jsonb WHERE stream_id = $1`, [streamId])).rejects.toThrow(/append-only: UPDATE/);
    await expect(pool.query('DELETE FROM events WHERE event_id = $1', [event!.eventId])).rejects.toThrow(/events are append-only: DELETE is not allowed/);
    await expect(pool.query('DELETE FROM events WHERE stream_id = $1', [streamId])).rejects.toThrow(/append-only: DELETE/);

    expect(await readStream(pool, streamId)).toEqual(before);
    expect(before).toHaveLength(1);
    expect(before[0]!.type).toBe(event!.type);
  });
});

describe('concurrent writers', () => {
  test(`${WRITERS} appenders at the same expected version: exactly one wins, the rest get WrongExpectedVersion`, async () => {
    const streamId = uniqueId('es-race-exact');
    const [seeded] = await seed(streamId, 1);
    const attempts = Array.from({ length: WRITERS }, () => newEvents(2));
    const outcomes = await Promise.allSettled(attempts.map((events) => appendToStream(pool, streamId, STREAM_TYPE, 1, events)));

    const winners = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [{ index: i, result: o.value }] : []));
    const losers = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []));
    expect(winners).toHaveLength(1);
    expect(winners[0]!.result).toEqual({ nextExpectedVersion: 3, alreadyAppended: false });
    expect(losers).toHaveLength(WRITERS - 1);
    for (const loser of losers) {
      expect(loser).toBeInstanceOf(WrongExpectedVersion);
      expect(loser).toMatchObject({ streamId, expected: 1, actual: 3 });
    }
    const winning = attempts[winners[0]!.index]!;
    expect(await stored(streamId)).toEqual({
      streamVersion: 3,
      events: [seeded!, ...winning].map((e, i) => ({ version: i + 1, eventId: e.eventId })),
    });
    expect(await countStored(attempts.flat().map((e) => e.eventId))).toBe(2);
  });

  test(`${WRITERS} creators of the same stream ('no_stream'): exactly one wins`, async () => {
    const streamId = uniqueId('es-race-create');
    const attempts = Array.from({ length: WRITERS }, () => newEvents(1));
    const outcomes = await Promise.allSettled(attempts.map((events) => appendToStream(pool, streamId, STREAM_TYPE, 'no_stream', events)));

    const winners = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [{ index: i, result: o.value }] : []));
    expect(winners).toHaveLength(1);
    expect(winners[0]!.result).toEqual({ nextExpectedVersion: 1, alreadyAppended: false });
    for (const o of outcomes) {
      if (o.status === 'rejected') expect(o.reason).toMatchObject({ name: 'WrongExpectedVersion', expected: 'no_stream', actual: 1 });
    }
    expect(outcomes.filter((o) => o.status === 'rejected')).toHaveLength(WRITERS - 1);
    expect(await stored(streamId)).toEqual({ streamVersion: 1, events: [{ version: 1, eventId: attempts[winners[0]!.index]![0]!.eventId }] });
  });

  test(`${WRITERS} writers racing and retrying on WrongExpectedVersion end with versions 1..${WRITERS}, no holes, no duplicates`, async () => {
    const streamId = uniqueId('es-race-retry');
    const mine = Array.from({ length: WRITERS }, () => newEvent('Raced'));
    // Every writer reads before anyone appends: the first round is a real race of all of them.
    let arrived = 0;
    let releaseAll!: () => void;
    const everyoneHasRead = new Promise<void>((resolve) => (releaseAll = resolve));
    let conflicts = 0;

    const currentVersion = async (): Promise<number> => {
      const events = await readStream(pool, streamId);
      return events.at(-1)?.version ?? 0;
    };

    async function writer(event: EventData): Promise<{ attempts: number; result: AppendResult }> {
      let version = await currentVersion();
      if (++arrived === WRITERS) releaseAll();
      await everyoneHasRead;
      for (let attempt = 1; ; attempt++) {
        const expected: ExpectedVersion = version === 0 ? 'no_stream' : version;
        try {
          const result = await appendToStream(pool, streamId, STREAM_TYPE, expected, [event]);
          return { attempts: attempt, result };
        } catch (err) {
          if (!(err instanceof WrongExpectedVersion)) throw err;
          expect(err.expected).toBe(expected);
          expect(err.actual).toBeGreaterThan(version);
          conflicts++;
          if (attempt > WRITERS * 4) throw new Error(`writer gave up after ${attempt} attempts`, { cause: err });
          version = await currentVersion();
        }
      }
    }

    const results = await Promise.all(mine.map(writer));

    // Everyone read version 0 before the race, so one won the first round and all others lost it.
    expect(conflicts).toBeGreaterThanOrEqual(WRITERS - 1);
    expect(results.filter((r) => r.attempts === 1)).toHaveLength(1);
    expect(results.every((r) => !r.result.alreadyAppended)).toBe(true);
    expect(results.map((r) => r.result.nextExpectedVersion).sort((a, b) => a - b)).toEqual(Array.from({ length: WRITERS }, (_, i) => i + 1));

    const after = await stored(streamId);
    expect(after.streamVersion).toBe(WRITERS);
    expect(after.events.map((e) => e.version)).toEqual(Array.from({ length: WRITERS }, (_, i) => i + 1));
    expect(new Set(after.events.map((e) => e.eventId))).toEqual(new Set(ids(mine)));
    // Each writer's reported version is where its own event is stored.
    const versionOf = new Map(after.events.map((e) => [e.eventId, e.version]));
    results.forEach((r, i) => expect(versionOf.get(mine[i]!.eventId)).toBe(r.result.nextExpectedVersion));
    const perId = await pool.query<{ event_id: string; n: string }>(
      'SELECT event_id, count(*) AS n FROM events WHERE event_id = ANY($1::uuid[]) GROUP BY event_id',
      [ids(mine)],
    );
    expect(perId.rows).toHaveLength(WRITERS);
    expect(perId.rows.every((r) => r.n === '1')).toBe(true);
  });
});
