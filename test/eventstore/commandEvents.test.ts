import { randomUUID } from 'node:crypto';
import type { Pool } from '../../src/db/pool';
import { appendToStream, eventsOfCommands, streamVersion, type EventData } from '../../src/eventstore';
import { testPool } from '../support/harness';

let pool: Pool;

beforeAll(() => {
  pool = testPool(2);
});

afterAll(async () => {
  await pool.end();
});

const byCommand = (commandId: string, type = 'Done'): EventData => ({ eventId: randomUUID(), type, data: {}, metadata: { commandId }, occurredAt: new Date() });

test('streamVersion is 0 for a stream that does not exist, else its last version', async () => {
  const streamId = `order-${randomUUID()}`;
  expect(await streamVersion(pool, streamId)).toBe(0);
  await appendToStream(pool, streamId, 'order', 'no_stream', [byCommand('a'), byCommand('b')]);
  expect(await streamVersion(pool, streamId)).toBe(2);
});

test("eventsOfCommands finds a command's events in version order, only in the stream and type asked", async () => {
  const streamId = `order-${randomUUID()}`;
  const other = `order-${randomUUID()}`;
  await appendToStream(pool, streamId, 'order', 'no_stream', [byCommand('client:k', 'First'), byCommand('internal:x:1'), byCommand('client:k', 'Second')]);
  await appendToStream(pool, other, 'order', 'no_stream', [byCommand('client:k', 'Elsewhere')]);

  const found = await eventsOfCommands(pool, { id: streamId, type: 'order' }, ['client:k']);
  expect(found.map((e) => [e.version, e.type, e.metadata.commandId])).toEqual([
    [1, 'First', 'client:k'],
    [3, 'Second', 'client:k'],
  ]);
  expect(await eventsOfCommands(pool, { id: streamId, type: 'order' }, ['client:k', 'internal:x:1'])).toHaveLength(3);
  expect(await eventsOfCommands(pool, { id: streamId, type: 'stock' }, ['client:k'])).toEqual([]);
  expect(await eventsOfCommands(pool, { id: streamId, type: 'order' }, ['k'])).toEqual([]);
});
