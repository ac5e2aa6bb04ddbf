import { DatabaseError } from 'pg';
import { WrongExpectedVersion } from './errors';
import type { Queryable } from './queryable';
import type { AppendResult, EventData, ExpectedVersion } from './types';

/*
 * The version claim and the insert are one statement, so they are one transaction and one round
 * trip. The claim goes through the stream's row in `streams`: its row lock serializes writers to
 * the same stream, and a writer whose expectation no longer holds after the lock claims nothing,
 * so it inserts nothing. `$3` is the number of events, `$4` the exact version expected.
 */
const CLAIM = {
  exact: `UPDATE streams SET version = version + $3, updated_at = now()
            WHERE stream_id = $1 AND version = $4 RETURNING version`,
  no_stream: `INSERT INTO streams (stream_id, stream_type, version) VALUES ($1, $2, $3)
                ON CONFLICT (stream_id) DO NOTHING RETURNING version`,
  stream_exists: `UPDATE streams SET version = version + $3, updated_at = now()
                    WHERE stream_id = $1 RETURNING version`,
  any: `INSERT INTO streams (stream_id, stream_type, version) VALUES ($1, $2, $3)
          ON CONFLICT (stream_id) DO UPDATE SET version = streams.version + $3, updated_at = now()
          RETURNING version`,
} as const;

type ClaimKind = keyof typeof CLAIM;

function claimKind(expected: ExpectedVersion): ClaimKind {
  if (typeof expected === 'number') return expected === 0 ? 'no_stream' : 'exact';
  return expected;
}

/**
 * Where the events come from: one event as scalar parameters (the common case, a command's one
 * event: no arrays to build, pass and unnest), or a batch as parallel arrays.
 */
const SOURCE = {
  one: `SELECT $5::uuid AS event_id, $6::text AS type, $7::int AS schema_version, $8::jsonb AS data, $9::jsonb AS metadata,
               $10::timestamptz AS occurred_at, 1::bigint AS ord`,
  many: `SELECT * FROM unnest($5::uuid[], $6::text[], $7::int[], $8::jsonb[], $9::jsonb[], $10::timestamptz[])
           WITH ORDINALITY AS e(event_id, type, schema_version, data, metadata, occurred_at, ord)`,
} as const;

type Shape = keyof typeof SOURCE;

/**
 * Named statements: node-postgres prepares each once per connection and afterwards sends only the
 * name and the values (no parse, and Postgres reuses the plan). Eight texts, each fixed for its
 * name, which a named statement requires. (Behind a pooler in transaction mode, such as
 * PgBouncer before 1.21, named statements need its prepared-statement support.)
 */
const STATEMENTS = Object.fromEntries(
  (Object.keys(CLAIM) as ClaimKind[]).flatMap((kind) =>
    (Object.keys(SOURCE) as Shape[]).map((shape) => [
      `${kind}/${shape}`,
      {
        name: `event_store_append_${kind}_${shape}`,
        text: `WITH claim AS (${CLAIM[kind]})
          INSERT INTO events (stream_id, stream_type, version, event_id, type, schema_version, data, metadata, occurred_at)
          SELECT $1, $2, claim.version - $3 + e.ord, e.event_id, e.type, e.schema_version, e.data, e.metadata, e.occurred_at
            FROM claim, (${SOURCE[shape]}) AS e
           -- an exact expectation lands exactly after the expected version (no-op for the others)
           WHERE $4::bigint IS NULL OR claim.version = $4::bigint + $3
          RETURNING version`,
      },
    ]),
  ),
) as Record<`${ClaimKind}/${Shape}`, { name: string; text: string }>;

const occurred = (e: EventData) => (e.occurredAt instanceof Date ? e.occurredAt.toISOString() : e.occurredAt);

/** The per-event parameters ($5–$10) of `shape`. */
function eventParams(events: readonly EventData[], shape: Shape): unknown[] {
  if (shape === 'one') {
    const e = events[0]!;
    return [e.eventId, e.type, e.schemaVersion ?? 1, JSON.stringify(e.data ?? null), JSON.stringify(e.metadata ?? {}), occurred(e)];
  }
  return [
    events.map((e) => e.eventId),
    events.map((e) => e.type),
    events.map((e) => e.schemaVersion ?? 1),
    events.map((e) => JSON.stringify(e.data ?? null)),
    events.map((e) => JSON.stringify(e.metadata ?? {})),
    events.map(occurred),
  ];
}

/**
 * Appends events to a stream if the stream is where `expected` says, atomically, in one round
 * trip. Appending the same events again (same ids at the same versions) is a no-op that succeeds,
 * so a retried activity cannot duplicate an event; anything else at a taken version is a
 * `WrongExpectedVersion`.
 */
export async function appendToStream(
  db: Queryable,
  streamId: string,
  streamType: string,
  expected: ExpectedVersion,
  events: readonly EventData[],
): Promise<AppendResult> {
  if (events.length === 0) throw new Error('appendToStream needs at least one event');
  if (typeof expected === 'number' && (!Number.isSafeInteger(expected) || expected < 0)) {
    throw new Error(`Invalid expected version ${expected}`);
  }
  const shape: Shape = events.length === 1 ? 'one' : 'many';
  const statement = STATEMENTS[`${claimKind(expected)}/${shape}`];
  const values = [streamId, streamType, events.length, typeof expected === 'number' ? expected : null, ...eventParams(events, shape)];
  try {
    // Rows as arrays: [version] each, the last one is the stream's new version.
    const { rows } = await db.query<[string]>({ ...statement, values, rowMode: 'array' });
    if (rows.length === events.length) {
      return { nextExpectedVersion: Math.max(...rows.map((r) => Number(r[0]))), alreadyAppended: false };
    }
  } catch (err) {
    // A duplicate event id (or a lost race to create the stream) may be a retry of our own append.
    if (!(err instanceof DatabaseError && err.code === '23505')) throw err;
  }
  return resolveRejectedAppend(db, streamId, expected, events);
}

/** The append claimed nothing: either these events are already stored, or the expectation failed. */
async function resolveRejectedAppend(db: Queryable, streamId: string, expected: ExpectedVersion, events: readonly EventData[]): Promise<AppendResult> {
  const { rows } = await db.query<{ event_id: string | null; stream_id: string; version: string }>(
    `SELECT e.event_id, e.stream_id, e.version
       FROM unnest($1::uuid[]) WITH ORDINALITY AS wanted(event_id, ord)
       LEFT JOIN events e ON e.event_id = wanted.event_id
      ORDER BY wanted.ord`,
    [events.map((e) => e.eventId)],
  );
  const stored = rows.filter((r) => r.event_id !== null);
  const firstVersion = Number(stored[0]?.version);
  // 'no_stream' is a position too (like 0): the events must be the first of the stream.
  const expectedVersion = expected === 'no_stream' ? 0 : expected;
  const sameEvents =
    stored.length === events.length &&
    stored.every((r, i) => r.stream_id === streamId && Number(r.version) === firstVersion + i) &&
    (typeof expectedVersion !== 'number' || firstVersion === expectedVersion + 1);
  if (sameEvents) {
    return { nextExpectedVersion: firstVersion + events.length - 1, alreadyAppended: true };
  }
  const current = await db.query<{ version: string }>('SELECT version FROM streams WHERE stream_id = $1', [streamId]);
  throw new WrongExpectedVersion(streamId, expected, Number(current.rows[0]?.version ?? 0));
}
