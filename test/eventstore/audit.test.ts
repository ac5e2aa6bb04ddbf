import { randomUUID } from 'node:crypto';
import type { Pool } from '../../src/db/pool';
import {
  appendToStream,
  countStreams,
  findDuplicateEventIds,
  findStreamVersionMismatches,
  readEventsOfType,
  readStreamsOfType,
  streamIdsByLastChange,
  timeSinceLastEvent,
  type EventData,
} from '../../src/eventstore';
import { testPool } from '../support/harness';
import { createUpcasterRegistry, defineUpcaster } from '../../src/domain/upcasting';

/*
 * The audit readers against real Postgres. Each test gets a stream type of its own, so a read of
 * "every stream of the type" sees only what the test wrote, while other test files write alongside.
 */

let pool: Pool;

beforeAll(() => {
  pool = testPool(4);
});

afterAll(async () => {
  await pool.end();
});

const newStreamType = () => `audit-${randomUUID()}`;

/** Noted v1 carried `text`; v2 calls it `note`. */
const schemasFor = (streamType: string) =>
  createUpcasterRegistry([
    defineUpcaster<{ text: string }, { note: string }>({ streamType, type: 'Noted', fromVersion: 1, upcast: ({ text }) => ({ note: text }) }),
  ]);

const noted = (text: string): EventData => ({ eventId: randomUUID(), type: 'Noted', schemaVersion: 1, data: { text }, occurredAt: new Date() });
const counted = (n: number): EventData => ({ eventId: randomUUID(), type: 'Counted', data: { n }, occurredAt: new Date() });

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

/** Streams `<type>-0` … `<type>-<count - 1>`, each: Counted 0, Noted, Counted 1. */
async function writeStreams(streamType: string, count: number): Promise<string[]> {
  const ids = Array.from({ length: count }, (_, i) => `${streamType}-${i}`);
  for (const id of ids) await appendToStream(pool, id, streamType, 'no_stream', [counted(0), noted(`on ${id}`), counted(1)]);
  return ids;
}

describe('readStreamsOfType', () => {
  test('hands out every stream of the type, page by page in stream id order, with its events upcast in version order', async () => {
    const streamType = newStreamType();
    const ids = await writeStreams(streamType, 5);
    const streams = await collect(readStreamsOfType(pool, streamType, { pageSize: 2, schemas: schemasFor(streamType) }));
    expect(streams.map((s) => s.streamId)).toEqual(ids);
    for (const stream of streams) {
      expect(stream).toMatchObject({ streamType, version: 3 });
      expect(stream.events.map((e) => [e.version, e.type, e.schemaVersion, e.data])).toEqual([
        [1, 'Counted', 1, { n: 0 }],
        [2, 'Noted', 2, { note: `on ${stream.streamId}` }],
        [3, 'Counted', 1, { n: 1 }],
      ]);
      expect(stream.events.every((e) => e.streamId === stream.streamId && e.streamType === streamType)).toBe(true);
    }
  });

  test('reads only `streamIds` when given, and only streams of the type', async () => {
    const streamType = newStreamType();
    const ids = await writeStreams(streamType, 4);
    const other = await writeStreams(newStreamType(), 1);
    const streams = await collect(readStreamsOfType(pool, streamType, { streamIds: [ids[3]!, ids[1]!, ...other], schemas: schemasFor(streamType) }));
    expect(streams.map((s) => s.streamId)).toEqual([ids[1], ids[3]]);
  });

  test('sees a stream at its streams.version: a later event is left out', async () => {
    const streamType = newStreamType();
    const [id] = await writeStreams(streamType, 1);
    const client = await pool.connect();
    try {
      // Rolled back: no other reader ever sees the event beyond the stream's version.
      await client.query('BEGIN');
      await client.query(
        `INSERT INTO events (stream_id, stream_type, version, event_id, type, data, occurred_at) VALUES ($1, $2, 4, $3, 'Counted', '{"n": 2}', now())`,
        [id, streamType, randomUUID()],
      );
      const [stream] = await collect(readStreamsOfType(client, streamType, { schemas: schemasFor(streamType) }));
      expect(stream).toMatchObject({ version: 3, events: [{ version: 1 }, { version: 2 }, { version: 3 }] });
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });
});

describe('readEventsOfType', () => {
  test('hands out the events of one type in the global order, page by page, in their current schema', async () => {
    const streamType = newStreamType();
    const ids = await writeStreams(streamType, 3);
    const events = await collect(readEventsOfType(pool, { streamType, type: 'Noted', pageSize: 2, schemas: schemasFor(streamType) }));
    expect(events.map((e) => [e.streamId, e.version, e.schemaVersion, e.data])).toEqual(ids.map((id) => [id, 2, 2, { note: `on ${id}` }]));
  });

  test('reads only `streamIds` when given', async () => {
    const streamType = newStreamType();
    const ids = await writeStreams(streamType, 3);
    const events = await collect(readEventsOfType(pool, { streamType, type: 'Counted', streamIds: [ids[2]!], schemas: schemasFor(streamType) }));
    expect(events.map((e) => [e.streamId, e.data])).toEqual([
      [ids[2], { n: 0 }],
      [ids[2], { n: 1 }],
    ]);
  });
});

test('timeSinceLastEvent: by the database clock, since the latest event of the type, for the streams that have one', async () => {
  const streamType = newStreamType();
  const [first, second] = await writeStreams(streamType, 2);
  await new Promise((resolve) => setTimeout(resolve, 100));
  await appendToStream(pool, first!, streamType, 3, [counted(2)]);
  const since = await timeSinceLastEvent(pool, { streamIds: [first!, second!, `${streamType}-none`], type: 'Counted' });
  const { rows } = await pool.query<{ version: string; age_ms: number }>(
    'SELECT version, (extract(epoch FROM now() - recorded_at) * 1000)::float8 AS age_ms FROM events WHERE stream_id = $1 ORDER BY version',
    [first],
  );
  const ageOf = (version: number) => rows.find((r) => Number(r.version) === version)!.age_ms;
  expect([...since.keys()].sort()).toEqual([first, second]);
  // Since version 4, the latest Counted, not version 1 (100 ms older): asked before the ages above.
  expect(since.get(first!)).toBeGreaterThanOrEqual(0);
  expect(since.get(first!)).toBeLessThanOrEqual(Math.ceil(ageOf(4)));
  expect(ageOf(1) - since.get(first!)!).toBeGreaterThanOrEqual(99);
  expect(await timeSinceLastEvent(pool, { streamIds: [first!], type: 'NeverHappened' })).toEqual(new Map());
});

test("countStreams and streamIdsByLastChange: a type's streams, the last appended to first, within `streamIds` and `limit`", async () => {
  const streamType = newStreamType();
  const ids = await writeStreams(streamType, 3);
  await appendToStream(pool, ids[0]!, streamType, 3, [counted(2)]);
  expect(await countStreams(pool, { streamType })).toBe(3);
  expect(await countStreams(pool, { streamType, streamIds: [ids[1]!, 'no-such-stream'] })).toBe(1);
  expect(await countStreams(pool, { streamIds: [ids[1]!, ids[2]!] })).toBe(2);
  expect(await streamIdsByLastChange(pool, { streamType })).toEqual([ids[0], ids[2], ids[1]]);
  expect(await streamIdsByLastChange(pool, { streamType, limit: 2 })).toEqual([ids[0], ids[2]]);
  expect(await streamIdsByLastChange(pool, { streamType, streamIds: [ids[1]!, ids[2]!] })).toEqual([ids[2], ids[1]]);
});

test('findDuplicateEventIds finds none where the unique index holds', async () => {
  const ids = await writeStreams(newStreamType(), 2);
  expect(await findDuplicateEventIds(pool, { streamIds: ids })).toEqual([]);
});

test('findStreamVersionMismatches names a hole, an overhang, a stream without events and events without a stream, and passes contiguous streams', async () => {
  const streamType = newStreamType();
  const [sound] = await writeStreams(streamType, 1);
  const [holed, short, empty, orphan] = ['holed', 'short', 'empty', 'orphan'].map((name) => `${streamType}-${name}`);
  const client = await pool.connect();
  const insert = (streamId: string, version: number) =>
    client.query(`INSERT INTO events (stream_id, stream_type, version, event_id, type, data, occurred_at) VALUES ($1, $2, $3, $4, 'Counted', '{}', now())`, [
      streamId,
      streamType,
      version,
      randomUUID(),
    ]);
  try {
    // Rolled back: corrupt streams no other reader ever sees.
    await client.query('BEGIN');
    await client.query('INSERT INTO streams (stream_id, stream_type, version) VALUES ($1, $4, 3), ($2, $4, 1), ($3, $4, 2)', [holed, short, empty, streamType]);
    await insert(holed!, 1);
    await insert(holed!, 3);
    await insert(short!, 1);
    await insert(short!, 2);
    // No streams row: only appendToStream keeps one beside every event (no foreign key since migration 010).
    await insert(orphan!, 1);
    await insert(orphan!, 2);
    const mismatches = await findStreamVersionMismatches(client, { streamIds: [sound!, holed!, short!, empty!, orphan!] });
    expect(mismatches.sort((a, b) => a.streamId.localeCompare(b.streamId))).toEqual([
      { streamId: empty, streamVersion: 2, eventCount: 0, minVersion: null, maxVersion: null },
      { streamId: holed, streamVersion: 3, eventCount: 2, minVersion: 1, maxVersion: 3 },
      { streamId: orphan, streamVersion: null, eventCount: 2, minVersion: 1, maxVersion: 2 },
      { streamId: short, streamVersion: 1, eventCount: 2, minVersion: 1, maxVersion: 2 },
    ]);
  } finally {
    await client.query('ROLLBACK');
    client.release();
  }
});
