import { randomUUID } from 'node:crypto';
import type { Pool } from '../../src/db/pool';
import { DomainError, type Decider } from '../../src/domain/decider';
import { appendToStream, WrongExpectedVersion } from '../../src/eventstore';
import { testPool, uniqueId } from '../support/harness';
import { readStream } from '../../src/application/eventStore';
import { handleStateStoredCommand, readAggregateState } from '../../src/application/handleStateStoredCommand';

/*
 * The state-stored host against real Postgres, with a tiny counter decider: add n (n >= 1), or
 * "noop" (no events). Every test writes only to streams it named with uniqueId().
 */

type Command = { type: 'Add'; n: number } | { type: 'Noop' };
type Event = { type: 'Added'; data: { n: number } };
interface State {
  total: number;
  adds: number;
}

const counter: Decider<Command, State, Event> = {
  initialState: { total: 0, adds: 0 },
  decide(command) {
    if (command.type === 'Noop') return [];
    if (command.n < 1) throw new DomainError('INVALID_N', 'n must be at least 1');
    return [{ type: 'Added', data: { n: command.n } }];
  },
  evolve: (state, event) => ({ total: state.total + event.data.n, adds: state.adds + 1 }),
};

const STREAM_TYPE = 'counter-test';
const WRITERS = 20;
const options = { newEventId: randomUUID, now: () => new Date('2024-05-01T12:00:00.000Z'), metadata: { commandId: 'cmd-1' } };

let pool: Pool;

beforeAll(async () => {
  pool = testPool(WRITERS + 5);
  const clients = await Promise.all(Array.from({ length: WRITERS }, () => pool.connect()));
  clients.forEach((c) => c.release());
});

afterAll(async () => {
  await pool.end();
});

const newStream = () => ({ id: uniqueId('counter'), type: STREAM_TYPE });
const run = (stream: { id: string; type: string }, command: Command) => handleStateStoredCommand(pool, counter, stream, command, options);

test('writes the new state and the events together, with the options on the events', async () => {
  const stream = newStream();
  const first = await run(stream, { type: 'Add', n: 2 });
  expect(first).toEqual({ state: { total: 2, adds: 1 }, version: 1, events: [{ type: 'Added', data: { n: 2 } }] });
  const second = await run(stream, { type: 'Add', n: 3 });
  expect(second).toMatchObject({ state: { total: 5, adds: 2 }, version: 2 });

  expect(await readAggregateState(pool, stream.id)).toEqual({ state: { total: 5, adds: 2 }, version: 2 });
  const events = await readStream(pool, stream.id);
  expect(events.map((e) => ({ version: e.version, type: e.type, data: e.data, streamType: e.streamType }))).toEqual([
    { version: 1, type: 'Added', data: { n: 2 }, streamType: STREAM_TYPE },
    { version: 2, type: 'Added', data: { n: 3 }, streamType: STREAM_TYPE },
  ]);
  expect(events[0]!.metadata).toEqual({ commandId: 'cmd-1' });
  expect(events[0]!.occurredAt).toBe('2024-05-01T12:00:00.000Z');
});

test(`${WRITERS} concurrent first writers of a new aggregate all succeed, in turn, without holes`, async () => {
  const stream = newStream();
  const results = await Promise.all(Array.from({ length: WRITERS }, () => run(stream, { type: 'Add', n: 1 })));
  expect(results.map((r) => r.version).sort((a, b) => a - b)).toEqual(Array.from({ length: WRITERS }, (_, i) => i + 1));
  expect(await readAggregateState(pool, stream.id)).toEqual({ state: { total: WRITERS, adds: WRITERS }, version: WRITERS });
  expect((await readStream(pool, stream.id)).map((e) => e.version)).toEqual(Array.from({ length: WRITERS }, (_, i) => i + 1));
});

test('a refused or empty decision on a new aggregate leaves nothing behind', async () => {
  const stream = newStream();
  await expect(run(stream, { type: 'Add', n: 0 })).rejects.toMatchObject({ code: 'INVALID_N' });
  expect(await run(stream, { type: 'Noop' })).toEqual({ state: { total: 0, adds: 0 }, version: 0, events: [] });
  expect(await readAggregateState(pool, stream.id)).toBeNull();
  expect((await pool.query('SELECT 1 FROM streams WHERE stream_id = $1', [stream.id])).rowCount).toBe(0);
});

test('all or nothing: when the append fails, the state is not written either', async () => {
  const stream = newStream();
  await run(stream, { type: 'Add', n: 1 });
  // Someone wrote to the stream behind the host's back: the stream is ahead of the state row.
  await appendToStream(pool, stream.id, STREAM_TYPE, 1, [{ eventId: randomUUID(), type: 'Added', data: { n: 100 }, occurredAt: new Date() }]);
  await expect(run(stream, { type: 'Add', n: 5 })).rejects.toBeInstanceOf(WrongExpectedVersion);
  expect(await readAggregateState(pool, stream.id)).toEqual({ state: { total: 1, adds: 1 }, version: 1 });
  expect((await readStream(pool, stream.id)).map((e) => e.data)).toEqual([{ n: 1 }, { n: 100 }]);
});

test('all or nothing: when writing the state fails after the append, the events are rolled back', async () => {
  const stream = newStream();
  await run(stream, { type: 'Add', n: 1 });
  // A state JSON cannot hold (a bigint): the append has run in the transaction, the state write fails.
  const poisoned: Decider<Command, State, Event> = { ...counter, evolve: (state) => ({ ...state, total: 1n as unknown as number }) };
  await expect(handleStateStoredCommand(pool, poisoned, stream, { type: 'Add', n: 2 }, options)).rejects.toThrow(/BigInt/);
  expect((await readStream(pool, stream.id)).map((e) => e.data)).toEqual([{ n: 1 }]);
  expect(await readAggregateState(pool, stream.id)).toEqual({ state: { total: 1, adds: 1 }, version: 1 });
  expect(await run(stream, { type: 'Add', n: 2 })).toMatchObject({ version: 2, state: { total: 3, adds: 2 } });
});

test('a stream that exists without a state row is not silently adopted', async () => {
  const stream = newStream();
  await appendToStream(pool, stream.id, STREAM_TYPE, 'no_stream', [{ eventId: randomUUID(), type: 'Added', data: { n: 7 }, occurredAt: new Date() }]);
  await expect(run(stream, { type: 'Add', n: 1 })).rejects.toBeInstanceOf(WrongExpectedVersion);
  expect(await readAggregateState(pool, stream.id)).toBeNull();
  expect(await readStream(pool, stream.id)).toHaveLength(1);
});

test('the connection goes back to the pool after successes and failures', async () => {
  const small = testPool(1);
  try {
    const stream = newStream();
    for (let i = 0; i < 3; i++) {
      await handleStateStoredCommand(small, counter, stream, { type: 'Add', n: 1 }, options);
      await expect(handleStateStoredCommand(small, counter, stream, { type: 'Add', n: 0 }, options)).rejects.toBeInstanceOf(DomainError);
    }
    expect(await readAggregateState(small, stream.id)).toEqual({ state: { total: 3, adds: 3 }, version: 3 });
  } finally {
    await small.end();
  }
});
