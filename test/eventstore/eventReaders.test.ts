import { randomUUID } from 'node:crypto';
import type { Pool } from '../../src/db/pool';
import { appendToStream, eventsOfTypes, firstEvent, type RecordedEvent } from '../../src/eventstore';
import { testPool, uniqueId } from '../support/harness';
import { createUpcasterRegistry, defineUpcaster } from '../../src/domain/upcasting';

/*
 * The event store's small readers the API uses instead of SQL on `events` (an order's owner, a
 * checkout's outcome, the catalog folded from its streams): like readStream, they hand out events
 * in their current schema, so a reshaped event cannot slip past its upcaster into the API.
 */

// Each run its own stream type, so nothing another test writes is read.
const STREAM_TYPE = uniqueId('readers');
/** Noted v1 {text} became v2 {note, by}. */
const schemas = createUpcasterRegistry([
  defineUpcaster<{ text: string }, { note: string; by: string }>({
    streamType: STREAM_TYPE,
    type: 'Noted',
    fromVersion: 1,
    upcast: ({ text }) => ({ note: text, by: 'legacy' }),
  }),
]);

let pool: Pool;
beforeAll(() => {
  pool = testPool(2);
});
afterAll(async () => {
  await pool.end();
});

/** A stream as an old writer left it: every Noted at schema version 1. */
async function legacyStream(...types: string[]): Promise<string> {
  const streamId = `${STREAM_TYPE}-${randomUUID()}`;
  const events = types.map((type, i) => ({
    eventId: randomUUID(),
    type,
    schemaVersion: 1,
    data: type === 'Noted' ? { text: `note ${i + 1}` } : {},
    occurredAt: new Date(),
  }));
  await appendToStream(pool, streamId, STREAM_TYPE, 'no_stream', events);
  return streamId;
}

const shapeOf = (events: RecordedEvent[]) => events.map(({ version, type, schemaVersion, data }) => ({ version, type, schemaVersion, data }));

test('firstEvent: version 1 in its current schema; undefined for a stream that does not exist', async () => {
  const streamId = await legacyStream('Noted', 'Other');
  expect(shapeOf([(await firstEvent(pool, streamId, { schemas }))!])).toEqual([
    { version: 1, type: 'Noted', schemaVersion: 2, data: { note: 'note 1', by: 'legacy' } },
  ]);
  expect(await firstEvent(pool, `${STREAM_TYPE}-missing`, { schemas })).toBeUndefined();
});

test('eventsOfTypes: only those types, from a version on, at most `limit`, in their current schema', async () => {
  const streamId = await legacyStream('Noted', 'Other', 'Noted', 'Skipped', 'Other', 'Noted');
  expect(shapeOf(await eventsOfTypes(pool, streamId, ['Noted', 'Other'], { fromVersion: 2, limit: 3, schemas }))).toEqual([
    { version: 2, type: 'Other', schemaVersion: 1, data: {} },
    { version: 3, type: 'Noted', schemaVersion: 2, data: { note: 'note 3', by: 'legacy' } },
    { version: 5, type: 'Other', schemaVersion: 1, data: {} },
  ]);
  expect((await eventsOfTypes(pool, streamId, ['Noted'], { schemas })).map((e) => e.version)).toEqual([1, 3, 6]);
});
