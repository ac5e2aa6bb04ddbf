import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { DatabaseError } from 'pg';
import type { Pool } from '../../src/db/pool';
import {
  appendToStream,
  findStreamVersionMismatches,
  inTransaction,
  WrongExpectedVersion,
  type AppendResult,
  type EventData,
  type ExpectedVersion,
} from '../../src/eventstore';
import { checkStreamIntegrity } from '../../src/invariants';
import { testPool, uniqueId } from '../support/harness';

/*
 * What the foreign key events.stream_id → streams guarded until migration 010 dropped it, now kept
 * by appendToStream alone: every stored event's stream has its `streams` row, at the stream's last
 * version, and an append that fails (a conflict, a row Postgres refuses after the claim, a later
 * statement of its transaction) leaves neither an event nor a change of that row. Generated
 * appends run at once on several streams, against the real Postgres.
 */

const STREAM_TYPE = 'eventstore-stream-row';
const MAX_WRITERS = 10;

let pool: Pool;
/** An event already stored, whose id a writer reuses to be refused by the unique key after its claim. */
let storedEvent: EventData;

beforeAll(async () => {
  pool = testPool(MAX_WRITERS + 2);
  storedEvent = newEvents(1)[0]!;
  await appendToStream(pool, uniqueId('es-stream-row-anchor'), STREAM_TYPE, 'no_stream', [storedEvent]);
});

afterAll(async () => {
  await pool.end();
});

/**
 * How a writer appends: on the pool; in a transaction that commits, or rolls back by choice; with a
 * last event that breaks a CHECK (schema version 0) or reuses a stored id, so Postgres refuses it
 * after the claim ran in the same statement; or in a transaction whose next append, to a stream of
 * its own, is refused, so the whole transaction rolls back.
 */
type Via = 'pool' | 'committed' | 'rolledBack' | 'refusedLastEvent' | 'storedIdLastEvent' | 'failsLaterInTransaction';
const STORING: readonly Via[] = ['pool', 'committed'];
/** The writers Postgres refuses with a CHECK violation once their expectation holds. */
const SPOILT: readonly Via[] = ['refusedLastEvent', 'failsLaterInTransaction'];

interface Writer {
  stream: number;
  expected: ExpectedVersion;
  size: number;
  via: Via;
}

function newEvents(count: number): EventData[] {
  return Array.from({ length: count }, (_, i) => ({ eventId: randomUUID(), type: `Appended${i}`, data: { i }, occurredAt: new Date() }));
}

/** The writer's events: fresh ones, with the last one spoilt as its `via` says. */
function eventsFor(writer: Writer): EventData[] {
  const events = newEvents(writer.size);
  const last = events.length - 1;
  if (writer.via === 'refusedLastEvent') events[last] = { ...events[last]!, schemaVersion: 0 };
  if (writer.via === 'storedIdLastEvent') events[last] = { ...events[last]!, eventId: storedEvent.eventId };
  return events;
}

async function append(streamId: string, writer: Writer, events: EventData[], laterStreamId: string): Promise<AppendResult> {
  const { via, expected } = writer;
  if (via === 'pool' || via === 'refusedLastEvent' || via === 'storedIdLastEvent') return appendToStream(pool, streamId, STREAM_TYPE, expected, events);
  return inTransaction(pool, async (tx) => {
    const result = await appendToStream(tx, streamId, STREAM_TYPE, expected, events);
    if (via === 'failsLaterInTransaction') await appendToStream(tx, laterStreamId, STREAM_TYPE, 'no_stream', eventsFor({ ...writer, via: 'refusedLastEvent' }));
    return { commit: via === 'committed', result };
  });
}

const isCheckViolation = (err: unknown) => err instanceof DatabaseError && err.code === '23514';

const scenarioArb = fc.tuple(fc.integer({ min: 2, max: 3 }), fc.integer({ min: 0, max: 2 })).chain(([streams, maxSeeded]) =>
  fc.record({
    seeded: fc.array(fc.integer({ min: 0, max: maxSeeded }), { minLength: streams, maxLength: streams }),
    writers: fc.array(
      fc.record({
        stream: fc.integer({ min: 0, max: streams - 1 }),
        expected: fc.oneof(fc.integer({ min: 0, max: maxSeeded + 3 }), fc.constantFrom<ExpectedVersion>('no_stream', 'stream_exists', 'any')),
        size: fc.oneof(fc.constant(1), fc.integer({ min: 2, max: 3 })),
        via: fc.constantFrom<Via>('pool', 'pool', 'committed', 'rolledBack', 'refusedLastEvent', 'storedIdLastEvent', 'failsLaterInTransaction'),
      }),
      { minLength: 2, maxLength: MAX_WRITERS },
    ),
  }),
);

test('concurrent appends to several streams, some conflicting or failing halfway, leave every event under a streams row at its last version', async () => {
  await fc.assert(
    fc.asyncProperty(scenarioArb, async ({ seeded, writers }) => {
      const streamIds = seeded.map(() => uniqueId('es-stream-row'));
      await Promise.all(seeded.flatMap((n, s) => (n > 0 ? [appendToStream(pool, streamIds[s]!, STREAM_TYPE, 'no_stream', newEvents(n))] : [])));
      const laterStreamIds = writers.map(() => uniqueId('es-stream-row-later'));
      const batches = writers.map(eventsFor);
      const outcomes = await Promise.allSettled(writers.map((w, i) => append(streamIds[w.stream]!, w, batches[i]!, laterStreamIds[i]!)));

      // Each writer that stored: its events, together and in order. Every other: none of them.
      const { rows: found } = await pool.query<{ event_id: string; stream_id: string; version: string }>(
        'SELECT event_id, stream_id, version FROM events WHERE event_id = ANY($1::uuid[]) AND event_id <> $2',
        [batches.flat().map((e) => e.eventId), storedEvent.eventId],
      );
      const stored = new Map(found.map((r) => [r.event_id, { streamId: r.stream_id, version: Number(r.version) }]));
      const added = seeded.map(() => 0);
      outcomes.forEach((outcome, i) => {
        const writer = writers[i]!;
        const at = batches[i]!.map((e) => stored.get(e.eventId));
        if (outcome.status === 'fulfilled' && STORING.includes(writer.via)) {
          const first = at[0]!;
          expect(at).toEqual(batches[i]!.map((_, k) => ({ streamId: streamIds[writer.stream], version: first.version + k })));
          expect(outcome.value).toEqual({ nextExpectedVersion: first.version + writer.size - 1, alreadyAppended: false });
          added[writer.stream]! += writer.size;
          return;
        }
        expect(at.filter((place) => place !== undefined)).toEqual([]);
        if (outcome.status === 'fulfilled') {
          expect(writer.via).toBe('rolledBack');
          return;
        }
        // Refused by Postgres after the claim (a spoilt writer), or by its expectation: nothing else.
        if (SPOILT.includes(writer.via) && isCheckViolation(outcome.reason)) return;
        expect(outcome.reason).toBeInstanceOf(WrongExpectedVersion);
        // An 'any' append cannot conflict, nor a 'stream_exists' one on a seeded stream; they fail only when spoilt.
        const canConflict = writer.expected !== 'any' && !(writer.expected === 'stream_exists' && seeded[writer.stream]! > 0);
        expect(canConflict || writer.via === 'storedIdLastEvent').toBe(true);
      });

      // Each stream: a streams row exactly when it has events, at its last event's version, which
      // counts the seed and the writers that stored (so a failed writer moved it by nothing).
      const { rows: heads } = await pool.query<{ stream_id: string; row_version: string | null; events: string; last_version: string | null }>(
        `SELECT ids.stream_id, s.version AS row_version, count(e.event_id) AS events, max(e.version) AS last_version
           FROM unnest($1::text[]) AS ids(stream_id)
           LEFT JOIN streams s ON s.stream_id = ids.stream_id
           LEFT JOIN events e ON e.stream_id = ids.stream_id
          GROUP BY ids.stream_id, s.version`,
        [[...streamIds, ...laterStreamIds]],
      );
      const expectedHeads = [...streamIds.map((id, s) => [id, seeded[s]! + added[s]!] as const), ...laterStreamIds.map((id) => [id, 0] as const)];
      expect(Object.fromEntries(heads.map((h) => [h.stream_id, { row: h.row_version, events: Number(h.events), last: h.last_version }]))).toEqual(
        Object.fromEntries(expectedHeads.map(([id, n]) => [id, { row: n === 0 ? null : String(n), events: n, last: n === 0 ? null : String(n) }])),
      );
      // And what `npm run check:invariants` reads says the same: versions 1..N, N the row's.
      expect(await findStreamVersionMismatches(pool, { streamIds: [...streamIds, ...laterStreamIds] })).toEqual([]);
    }),
    { numRuns: 40 },
  );
});

test('the events table has no foreign key: the append is the one writer that keeps its stream row (migration 010)', async () => {
  const { rows } = await pool.query(`SELECT conname FROM pg_constraint WHERE conrelid = 'events'::regclass AND contype = 'f'`);
  expect(rows).toEqual([]);
});

test('a streams row cannot be deleted, nor the table truncated: with no foreign key left, a stray statement would wedge its stream (migration 011)', async () => {
  const streamId = uniqueId('es-stream-row-kept');
  await appendToStream(pool, streamId, STREAM_TYPE, 'no_stream', newEvents(1));
  const client = await pool.connect();
  try {
    // Rolled back whatever happens: the table is shared with the other tests.
    await client.query('BEGIN');
    await expect(client.query('DELETE FROM streams WHERE stream_id = $1', [streamId])).rejects.toThrow(/streams rows are never deleted: DELETE/);
    await client.query('ROLLBACK');
    await client.query('BEGIN');
    await expect(client.query('TRUNCATE streams CASCADE')).rejects.toThrow(/streams rows are never deleted: TRUNCATE/);
  } finally {
    await client.query('ROLLBACK');
    client.release();
  }
  const { rows } = await pool.query('SELECT version FROM streams WHERE stream_id = $1', [streamId]);
  expect(rows).toEqual([{ version: '1' }]);
});

test('an event written around the append, without its streams row, fails the integrity invariant', async () => {
  const orphan = uniqueId('es-stream-row-orphan');
  const client = await pool.connect();
  try {
    // Rolled back: no other reader ever sees it.
    await client.query('BEGIN');
    await client.query(
      `INSERT INTO events (stream_id, stream_type, version, event_id, type, data, occurred_at) VALUES ($1, $2, 1, $3, 'Appended0', '{}', now())`,
      [orphan, STREAM_TYPE, randomUUID()],
    );
    const integrity = await checkStreamIntegrity(client, { streamIds: [orphan] });
    expect(integrity).toMatchObject({ status: 'FAIL', violationCount: 1 });
    expect(integrity.violations[0]).toBe(`${orphan}: events (versions 1..1) without a streams row`);
  } finally {
    await client.query('ROLLBACK');
    client.release();
  }
});
