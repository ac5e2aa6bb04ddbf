import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { Pool } from '../../src/db/pool';
import { appendToStream, inTransaction, WrongExpectedVersion, type AppendResult, type EventData, type ExpectedVersion } from '../../src/eventstore';
import { testPool, uniqueId } from '../support/harness';

/*
 * Generated races against the one-statement append: writers with every kind of expectation, one
 * event (scalar parameters) or a batch (arrays), on the pool or inside a transaction that commits
 * or rolls back, all at once on one stream. Whatever order Postgres lets them through in, the
 * stream must come out as some sequence of the winners, each landing where its expectation said.
 */

const STREAM_TYPE = 'eventstore-race';
const MAX_WRITERS = 8;

let pool: Pool;

beforeAll(async () => {
  pool = testPool(MAX_WRITERS + 2);
  const clients = await Promise.all(Array.from({ length: MAX_WRITERS + 2 }, () => pool.connect()));
  clients.forEach((c) => c.release());
});

afterAll(async () => {
  await pool.end();
});

type Via = 'pool' | 'committed' | 'rolledBack';
interface Writer {
  expected: ExpectedVersion;
  size: number;
  via: Via;
}

const newEvents = (count: number): EventData[] =>
  Array.from({ length: count }, (_, i) => ({ eventId: randomUUID(), type: `Raced${i}`, data: { i }, occurredAt: new Date() }));

async function append(streamId: string, writer: Writer, events: EventData[]): Promise<AppendResult> {
  if (writer.via === 'pool') return appendToStream(pool, streamId, STREAM_TYPE, writer.expected, events);
  return inTransaction(pool, async (tx) => ({
    commit: writer.via === 'committed',
    result: await appendToStream(tx, streamId, STREAM_TYPE, writer.expected, events),
  }));
}

/** Where a stream's head may be for an append with this expectation to land on it. */
function admits(expected: ExpectedVersion, head: number): boolean {
  if (expected === 'any') return true;
  if (expected === 'stream_exists') return head > 0;
  return head === (expected === 'no_stream' ? 0 : expected);
}

const writerArb = (seeded: number) =>
  fc.record({
    expected: fc.oneof(fc.integer({ min: 0, max: seeded + 2 }), fc.constantFrom<ExpectedVersion>('no_stream', 'stream_exists', 'any')),
    size: fc.oneof(fc.constant(1), fc.integer({ min: 2, max: 3 })),
    via: fc.constantFrom<Via>('pool', 'pool', 'committed', 'rolledBack'),
  });

test('racing appenders of every expectation kind leave a gapless stream of winners, each where its expectation allowed', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: 3 }).chain((seeded) => fc.tuple(fc.constant(seeded), fc.array(writerArb(seeded), { minLength: 2, maxLength: MAX_WRITERS }))),
      async ([seeded, writers]) => {
        const streamId = uniqueId('es-race-prop');
        const seed = newEvents(seeded);
        if (seeded > 0) await appendToStream(pool, streamId, STREAM_TYPE, 'no_stream', seed);
        const batches = writers.map((w) => newEvents(w.size));
        const outcomes = await Promise.allSettled(writers.map((w, i) => append(streamId, w, batches[i]!)));

        const { rows } = await pool.query<{ version: string; event_id: string }>('SELECT version, event_id FROM events WHERE stream_id = $1 ORDER BY version', [
          streamId,
        ]);
        const head = await pool.query<{ version: string }>('SELECT version FROM streams WHERE stream_id = $1', [streamId]);
        const versionOf = new Map(rows.map((r) => [r.event_id, Number(r.version)]));
        // Versions 1..head without holes or duplicates, and the streams row agrees.
        expect(rows.map((r) => Number(r.version))).toEqual(rows.map((_, i) => i + 1));
        expect(Number(head.rows[0]?.version ?? 0)).toBe(rows.length);
        seed.forEach((e, i) => expect(versionOf.get(e.eventId)).toBe(i + 1));

        let stored = seeded;
        outcomes.forEach((outcome, i) => {
          const writer = writers[i]!;
          const events = batches[i]!;
          const at = events.map((e) => versionOf.get(e.eventId));
          if (outcome.status === 'rejected') {
            expect(outcome.reason).toBeInstanceOf(WrongExpectedVersion);
            expect(outcome.reason).toMatchObject({ streamId, expected: writer.expected });
            // An 'any' append cannot be refused, nor a 'stream_exists' one once the stream exists.
            expect(writer.expected === 'any' || (writer.expected === 'stream_exists' && seeded > 0)).toBe(false);
            expect(at.every((v) => v === undefined)).toBe(true);
            return;
          }
          const first = at[0];
          if (writer.via === 'rolledBack') {
            expect(at.every((v) => v === undefined)).toBe(true);
            return;
          }
          // Stored together, in order, right after a head its expectation admits.
          expect(first).toBeDefined();
          expect(at).toEqual(events.map((_, k) => first! + k));
          expect(admits(writer.expected, first! - 1)).toBe(true);
          expect(outcome.value).toEqual({ nextExpectedVersion: first! + events.length - 1, alreadyAppended: false });
          stored += events.length;
        });
        expect(rows).toHaveLength(stored);

        // Every winner retried (an activity that lost its answer): the same no-op success, nothing written.
        for (const [i, outcome] of outcomes.entries()) {
          if (outcome.status !== 'fulfilled' || writers[i]!.via === 'rolledBack') continue;
          await expect(appendToStream(pool, streamId, STREAM_TYPE, writers[i]!.expected, batches[i]!)).resolves.toEqual({
            ...outcome.value,
            alreadyAppended: true,
          });
        }
        const after = await pool.query<{ n: string }>('SELECT count(*) AS n FROM events WHERE stream_id = $1', [streamId]);
        expect(Number(after.rows[0]!.n)).toBe(stored);
      },
    ),
    { numRuns: 40 },
  );
});

test('every expectation kind of a single event and of a batch is refused on the wrong head, writing nothing', async () => {
  // The same expectation on both shapes of the statement: each is its own prepared statement.
  for (const size of [1, 3]) {
    const streamId = uniqueId('es-race-wrong');
    const refused: Array<[ExpectedVersion, number]> = [
      ['stream_exists', 0],
      [1, 0],
    ];
    for (const [expected, actual] of refused) {
      const events = newEvents(size);
      await expect(appendToStream(pool, streamId, STREAM_TYPE, expected, events)).rejects.toMatchObject({ name: 'WrongExpectedVersion', expected, actual });
    }
    await appendToStream(pool, streamId, STREAM_TYPE, 'no_stream', newEvents(size));
    for (const expected of ['no_stream', 0, size - 1, size + 1] as ExpectedVersion[]) {
      if (expected === size - 1 && size === 1) continue; // 0 is 'no_stream', above
      const events = newEvents(size);
      await expect(appendToStream(pool, streamId, STREAM_TYPE, expected, events)).rejects.toMatchObject({
        name: 'WrongExpectedVersion',
        expected,
        actual: size,
      });
      const { rows } = await pool.query('SELECT 1 FROM events WHERE event_id = ANY($1::uuid[])', [events.map((e) => e.eventId)]);
      expect(rows).toHaveLength(0);
    }
  }
});
