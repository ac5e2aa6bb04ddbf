import { randomUUID } from 'node:crypto';
import type { Pool } from '../../src/db/pool';
import { appendToStream, START, type Checkpoint, type EventData, type RecordedEvent } from '../../src/eventstore';
import { testPool, uniqueId } from '../support/harness';
import { readAll, readStream } from '../../src/application/eventStore';

/*
 * The global order for subscribers, against real Postgres. Other test files append to the same
 * database at the same time, so a reader here sees their events too: it checks the order and the
 * checkpoints of everything it gets, but counts only the events of the streams this test created.
 */

const STREAM_TYPE = 'readall-test';

let pool: Pool;

beforeAll(() => {
  pool = testPool(20);
});

afterAll(async () => {
  await pool.end();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function newEvent(type = 'Happened'): EventData {
  return { eventId: randomUUID(), type, data: { at: Date.now() }, occurredAt: new Date() };
}

const newEvents = (count: number, type?: string) => Array.from({ length: count }, () => newEvent(type));

/** The global order: by writer transaction, then by global position. */
function compare(a: Checkpoint, b: Checkpoint): number {
  const ta = BigInt(a.transactionId);
  const tb = BigInt(b.transactionId);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.globalPosition - b.globalPosition;
}

/** A subscriber: polls readAll from its checkpoint and keeps what belongs to `streams`. */
class Reader {
  readonly seen: RecordedEvent[] = [];
  /** Every event any poll returned, ours or not. */
  readonly returned: RecordedEvent[] = [];
  polls = 0;
  pollsWithOurs = 0;

  constructor(
    private readonly streams: ReadonlySet<string>,
    public checkpoint: Checkpoint,
  ) {}

  async poll(limit: number): Promise<RecordedEvent[]> {
    const { events, checkpoint } = await readAll(pool, { after: this.checkpoint, limit });
    this.polls++;
    expect(events.length).toBeLessThanOrEqual(limit);
    // Strictly after the checkpoint, in the global order, and the new checkpoint is the last event.
    let previous = this.checkpoint;
    for (const e of events) {
      expect(compare(e, previous)).toBeGreaterThan(0);
      previous = e;
    }
    const last = events.at(-1);
    expect(checkpoint).toEqual(last ? { transactionId: last.transactionId, globalPosition: last.globalPosition } : this.checkpoint);
    this.checkpoint = checkpoint;
    this.returned.push(...events);
    const ours = events.filter((e) => this.streams.has(e.streamId));
    if (ours.length > 0) this.pollsWithOurs++;
    this.seen.push(...ours);
    return events;
  }

  /** Polls until a poll comes back empty. */
  async drain(limit: number): Promise<void> {
    while ((await this.poll(limit)).length > 0);
  }

  /**
   * Polls until `count` events of ours have been seen. An empty poll does not mean they are not
   * there: another test file's open transaction may be holding every reader back for a moment.
   */
  async catchUp(count: number, limit: number, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.seen.length < count) {
      if (Date.now() > deadline) throw new Error(`reader saw ${this.seen.length} of ${count} events before the deadline`);
      if ((await this.poll(limit)).length === 0) await sleep(5);
    }
    // Whatever is readable now is read, so a duplicate would have shown up.
    await this.drain(limit);
  }
}

/** Where a new subscriber starts so as not to replay the whole shared table: after everything readable now. */
async function head(): Promise<Checkpoint> {
  const reader = new Reader(new Set(), START);
  await reader.drain(1000);
  return reader.checkpoint;
}

/** The newest transaction id: this statement takes one and commits it. */
async function takeTransactionId(): Promise<bigint> {
  const { rows } = await pool.query<{ xid: string }>('SELECT pg_current_xact_id()::text AS xid');
  return BigInt(rows[0]!.xid);
}

/** Moves the transaction id counter on by committing `count` transactions that do nothing else. */
async function burnTransactionIds(count: number): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('SET synchronous_commit = off');
    await client.query(`DO $$ BEGIN FOR i IN 1..${count} LOOP PERFORM pg_current_xact_id(); COMMIT; END LOOP; END $$`);
  } finally {
    await client.query('RESET synchronous_commit').catch(() => undefined);
    client.release();
  }
}

function expectEachOnce(seen: readonly RecordedEvent[], written: readonly string[]): void {
  const seenIds = seen.map((e) => e.eventId);
  expect(seenIds).toHaveLength(written.length);
  expect(new Set(seenIds).size).toBe(written.length);
  expect(new Set(seenIds)).toEqual(new Set(written));
}

test('a reader polling in small batches while writers append to many streams sees every event exactly once', async () => {
  const streams = Array.from({ length: 12 }, () => uniqueId('ra-concurrent'));
  const reader = new Reader(new Set(streams), await head());
  const written: string[] = [];
  const perStream = new Map(streams.map((s) => [s, 0]));

  // Two writers per stream, each appending three batches of one to three events.
  let writing = true;
  let writerError: Error | undefined;
  const writers = Promise.all(
    streams.flatMap((streamId) =>
      [0, 1].map(async (w) => {
        for (let i = 0; i < 3; i++) {
          const batch = newEvents(1 + ((w + i) % 3));
          await appendToStream(pool, streamId, STREAM_TYPE, 'any', batch);
          written.push(...batch.map((e) => e.eventId));
          perStream.set(streamId, perStream.get(streamId)! + batch.length);
          await sleep(Math.floor(Math.random() * 5));
        }
      }),
    ),
  ).then(
    () => (writing = false),
    (err: Error) => (writerError = err),
  );

  const deadline = Date.now() + 10_000;
  while (writing || new Set(reader.seen.map((e) => e.eventId)).size < written.length) {
    if (writerError) throw writerError;
    if (Date.now() > deadline) throw new Error(`reader saw ${reader.seen.length} of ${written.length} events before the deadline`);
    const got = await reader.poll(5);
    if (got.length === 0) await sleep(5);
  }
  await writers;
  // Nothing of ours comes again.
  await reader.drain(5);

  expect(written).toHaveLength(12 * 12);
  expectEachOnce(reader.seen, written);
  expect(reader.pollsWithOurs).toBeGreaterThanOrEqual(Math.ceil(written.length / 5));
  for (const streamId of streams) {
    const versions = reader.seen.filter((e) => e.streamId === streamId).map((e) => e.version);
    expect(versions.sort((a, b) => a - b)).toEqual(Array.from({ length: perStream.get(streamId)! }, (_, i) => i + 1));
  }
});

describe('a slow writer transaction', () => {
  test('holds readers back instead of letting them skip its event: after it commits, the reader gets it, and every event once', async () => {
    const slowStream = uniqueId('ra-slow');
    const fastStreams = Array.from({ length: 5 }, () => uniqueId('ra-fast'));
    const ours = [slowStream, ...fastStreams];
    const reader = new Reader(new Set(ours), await head());
    const slowEvent = newEvent('Slow');
    const fastEvents = fastStreams.map(() => newEvent('Fast'));

    const slowClient = await pool.connect();
    let open = false;
    try {
      await slowClient.query('BEGIN');
      open = true;
      await expect(appendToStream(slowClient, slowStream, STREAM_TYPE, 'no_stream', [slowEvent])).resolves.toEqual({
        nextExpectedVersion: 1,
        alreadyAppended: false,
      });
      const [slowRecorded] = await readStream(slowClient, slowStream); // its own, uncommitted row
      expect(slowRecorded?.eventId).toBe(slowEvent.eventId);
      const slowXid = BigInt(slowRecorded!.transactionId);
      expect(await readStream(pool, slowStream)).toEqual([]);

      // Other writers append and commit meanwhile: later transactions, later global positions.
      await Promise.all(fastStreams.map((s, i) => appendToStream(pool, s, STREAM_TYPE, 'no_stream', [fastEvents[i]!])));
      const fastRecorded = (await Promise.all(fastStreams.map((s) => readStream(pool, s)))).flat();
      expect(fastRecorded.map((e) => e.eventId).sort()).toEqual(fastEvents.map((e) => e.eventId).sort());
      for (const e of fastRecorded) {
        expect(BigInt(e.transactionId) > slowXid).toBe(true);
        expect(e.globalPosition).toBeGreaterThan(slowRecorded!.globalPosition);
      }

      // This is the trap: a reader going by global position alone sees the committed fast events
      // now, with the slow one's lower position still invisible, and its checkpoint would pass it.
      const naive = await pool.query<{ event_id: string }>(
        'SELECT event_id FROM events WHERE global_position >= $1 AND stream_id = ANY($2) ORDER BY global_position',
        [slowRecorded!.globalPosition, ours],
      );
      expect(naive.rows.map((r) => r.event_id).sort()).toEqual(fastEvents.map((e) => e.eventId).sort());

      // readAll stops below the open transaction, however often the reader polls.
      const openPhaseStart = reader.returned.length;
      await reader.drain(2);
      for (let i = 0; i < 5; i++) {
        await reader.poll(2);
        await sleep(20);
      }
      const returnedWhileOpen = reader.returned.slice(openPhaseStart);
      for (const e of returnedWhileOpen) expect(BigInt(e.transactionId) < slowXid).toBe(true);
      expect(reader.seen).toEqual([]);
      expect(BigInt(reader.checkpoint.transactionId) < slowXid).toBe(true);

      await slowClient.query('COMMIT');
      open = false;
    } finally {
      if (open) await slowClient.query('ROLLBACK').catch(() => undefined);
      slowClient.release();
    }

    // Continuing from the same checkpoint: the slow event first, then the fast ones, each once.
    await reader.catchUp(1 + fastEvents.length, 2);
    expectEachOnce(reader.seen, [slowEvent.eventId, ...fastEvents.map((e) => e.eventId)]);
    expect(reader.seen[0]!.eventId).toBe(slowEvent.eventId);
    expect(reader.seen[0]).toMatchObject({ streamId: slowStream, version: 1, type: 'Slow' });
  });

  test('that rolls back delays readers only while it is open, and its event never appears', async () => {
    const slowStream = uniqueId('ra-rollback');
    const fastStream = uniqueId('ra-after-rollback');
    const reader = new Reader(new Set([slowStream, fastStream]), await head());
    const slowClient = await pool.connect();
    const fastEvents = newEvents(3, 'Fast');
    try {
      await slowClient.query('BEGIN');
      await appendToStream(slowClient, slowStream, STREAM_TYPE, 'no_stream', [newEvent('Doomed')]);
      await appendToStream(pool, fastStream, STREAM_TYPE, 'no_stream', fastEvents);
      await reader.drain(10);
      expect(reader.seen).toEqual([]);
    } finally {
      await slowClient.query('ROLLBACK');
      slowClient.release();
    }
    await reader.catchUp(fastEvents.length, 10);
    expect(reader.seen.map((e) => e.eventId)).toEqual(fastEvents.map((e) => e.eventId));
    expect(await readStream(pool, slowStream)).toEqual([]);
  });
});

test('an empty poll returns the checkpoint it was given, and the reader goes on from it', async () => {
  const streamId = uniqueId('ra-empty');
  const reader = new Reader(new Set([streamId]), START);
  // Poll (other test files may be appending) until a poll comes back empty.
  let emptyPolls = 0;
  for (let i = 0; emptyPolls === 0; i++) {
    if (i > 10_000) throw new Error('readAll never came back empty');
    const before = reader.checkpoint;
    const { events, checkpoint } = await readAll(pool, { after: before, limit: 500 });
    if (events.length === 0) {
      expect(checkpoint).toEqual(before);
      emptyPolls++;
    } else {
      expect(compare(checkpoint, before)).toBeGreaterThan(0);
      reader.checkpoint = checkpoint;
    }
  }
  const fromHead = reader.checkpoint;

  const event = newEvent('AfterEmpty');
  await appendToStream(pool, streamId, STREAM_TYPE, 'no_stream', [event]);
  await reader.catchUp(1, 50);
  expect(reader.seen.map((e) => e.eventId)).toEqual([event.eventId]);
  expect(compare(reader.checkpoint, fromHead)).toBeGreaterThan(0);
  const [recorded] = await readStream(pool, streamId);
  expect(compare(reader.checkpoint, recorded!)).toBeGreaterThanOrEqual(0);
});

test('the global order is numeric where transaction ids gain a digit (…999 to …000): small batches skip nothing', async () => {
  // Other test files write concurrently and may use up the margin before our first append;
  // then the stream did not straddle the boundary, and we try again at the next one.
  for (let attempt = 1; ; attempt++) {
    const streamId = uniqueId('ra-digits');
    const reader = new Reader(new Set([streamId]), await head());
    // Take the transaction id counter to just below the next power of ten.
    const now = await takeTransactionId();
    let boundary = 10n;
    while (boundary <= now + 1000n) boundary *= 10n;
    expect(boundary - now).toBeLessThan(3_000_000n); // a fresh test database is far below; burning more takes too long
    await burnTransactionIds(Number(boundary - now - 200n));

    // One event per transaction, until three have ids with the extra digit.
    const written: RecordedEvent[] = [];
    while (written.filter((e) => BigInt(e.transactionId) >= boundary).length < 3) {
      if (written.length >= 400) throw new Error(`400 appends did not reach transaction id ${boundary}`);
      await appendToStream(pool, streamId, STREAM_TYPE, written.length === 0 ? 'no_stream' : written.length, [newEvent('Counted')]);
      const [recorded] = await readStream(pool, streamId, { fromVersion: written.length + 1 });
      written.push(recorded!);
    }
    const below = written.filter((e) => BigInt(e.transactionId) < boundary);
    if (below.length < 2 && attempt < 3) continue;
    // The stream straddles the boundary: as text, its newest ids sort before its oldest.
    expect(below.length).toBeGreaterThanOrEqual(2);
    expect(written[0]!.transactionId.length).toBeLessThan(written.at(-1)!.transactionId.length);
    expect(written.at(-1)!.transactionId < written[0]!.transactionId).toBe(true);

    await reader.catchUp(written.length, 2, 5_000);
    expect(reader.seen.map((e) => e.eventId)).toEqual(written.map((e) => e.eventId));
    return;
  }
});
