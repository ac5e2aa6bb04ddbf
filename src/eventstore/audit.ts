import type { Queryable } from './queryable';
import type { EventSchemas, RecordedEvent } from './types';

/*
 * Reads for checking the store and what was built from it (src/invariants): whole streams of a
 * type a page at a time, events of one type, and the facts behind "versions 1..N, no event id
 * twice". Read only, like the rest of the readers; events come in their current schema.
 */

/** What an audit reads of an event: where it stands and what it says, without metadata and times. */
export type AuditedEvent = Pick<RecordedEvent, 'streamId' | 'streamType' | 'version' | 'eventId' | 'type' | 'schemaVersion' | 'data'>;

/** One stream: its version in `streams` and its events up to that version, in version order. */
export interface StreamAtVersion {
  streamId: string;
  streamType: string;
  version: number;
  events: AuditedEvent[];
}

/** The columns of an `AuditedEvent` (bigints as strings). */
const EVENT_COLUMNS = 'stream_id, stream_type, version, event_id, type, schema_version, data';

interface EventRow {
  stream_id: string;
  stream_type: string;
  version: string;
  event_id: string;
  type: string;
  schema_version: number;
  data: unknown;
}

/** A row in its current schema, as `readStream` upcasts a recorded event. */
function toAudited(row: EventRow, schemas: EventSchemas): AuditedEvent {
  return schemas.upcast({
    streamId: row.stream_id,
    streamType: row.stream_type,
    version: Number(row.version),
    eventId: row.event_id,
    type: row.type,
    schemaVersion: row.schema_version,
    data: row.data,
  });
}

/** `null` (no restriction) for `$n::text[] IS NULL OR stream_id = ANY($n::text[])`. */
const onlyThese = (streamIds: readonly string[] | undefined): string[] | null => (streamIds ? [...streamIds] : null);

/**
 * Every stream of a type (or only those of `streamIds`), a page of streams at a time in stream id
 * order, so memory stays bounded by the page on a large database. Events beyond the version read
 * from `streams` (appended since, outside a snapshot) are left out, so a stream is seen at one
 * version.
 */
export async function* readStreamsOfType(
  db: Queryable,
  streamType: string,
  options: { streamIds?: readonly string[]; pageSize?: number; schemas: EventSchemas },
): AsyncGenerator<StreamAtVersion> {
  const pageSize = options.pageSize ?? 500;
  const only = onlyThese(options.streamIds);
  let after = '';
  for (;;) {
    const { rows: streams } = await db.query<{ stream_id: string; version: string }>(
      `SELECT stream_id, version FROM streams
        WHERE stream_type = $1 AND stream_id > $2 AND ($3::text[] IS NULL OR stream_id = ANY($3::text[]))
        ORDER BY stream_id LIMIT $4`,
      [streamType, after, only, pageSize],
    );
    if (streams.length === 0) return;
    const ids = streams.map((s) => s.stream_id);
    const { rows } = await db.query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE stream_id = ANY($1::text[]) ORDER BY stream_id, version`, [ids]);
    const byStream = new Map<string, AuditedEvent[]>(ids.map((id) => [id, []]));
    for (const row of rows) byStream.get(row.stream_id)!.push(toAudited(row, options.schemas));
    for (const s of streams) {
      const version = Number(s.version);
      yield { streamId: s.stream_id, streamType, version, events: byStream.get(s.stream_id)!.filter((e) => e.version <= version) };
    }
    if (streams.length < pageSize) return;
    after = streams[streams.length - 1]!.stream_id;
  }
}

/**
 * Every event of one type in streams of one type (or only in `streamIds`), in the global position
 * order, a page at a time. For finding streams by what an event says: the event is matched in its
 * current schema, which a query on the stored `data` would not do.
 */
export async function* readEventsOfType(
  db: Queryable,
  options: { streamType: string; type: string; streamIds?: readonly string[]; pageSize?: number; schemas: EventSchemas },
): AsyncGenerator<AuditedEvent> {
  const pageSize = options.pageSize ?? 1000;
  const only = onlyThese(options.streamIds);
  let after = 0;
  for (;;) {
    const { rows } = await db.query<EventRow & { global_position: string }>(
      `SELECT global_position, ${EVENT_COLUMNS} FROM events
        WHERE stream_type = $1 AND type = $2 AND ($3::text[] IS NULL OR stream_id = ANY($3::text[])) AND global_position > $4
        ORDER BY global_position LIMIT $5`,
      [options.streamType, options.type, only, after, pageSize],
    );
    for (const row of rows) yield toAudited(row, options.schemas);
    if (rows.length < pageSize) return;
    after = Number(rows[rows.length - 1]!.global_position);
  }
}

/**
 * How long ago, by the database's clock, each of `streamIds` last recorded an event of `type`, in
 * milliseconds. Streams without such an event are absent.
 */
export async function timeSinceLastEvent(db: Queryable, options: { streamIds: readonly string[]; type: string }): Promise<Map<string, number>> {
  const { rows } = await db.query<{ stream_id: string; since_ms: string }>(
    `SELECT stream_id, (extract(epoch FROM now() - max(recorded_at)) * 1000)::bigint AS since_ms FROM events
      WHERE stream_id = ANY($1::text[]) AND type = $2 GROUP BY stream_id`,
    [[...options.streamIds], options.type],
  );
  return new Map(rows.map((r) => [r.stream_id, Number(r.since_ms)]));
}

/** How many streams there are of a type (any type when absent), among `streamIds` when given. */
export async function countStreams(db: Queryable, options: { streamType?: string; streamIds?: readonly string[] } = {}): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    `SELECT count(*) AS n FROM streams
      WHERE ($1::text IS NULL OR stream_type = $1) AND ($2::text[] IS NULL OR stream_id = ANY($2::text[]))`,
    [options.streamType ?? null, onlyThese(options.streamIds)],
  );
  return Number(rows[0]?.n ?? 0);
}

/** The ids of a type's streams (among `streamIds` when given), the most recently appended to first. */
export async function streamIdsByLastChange(db: Queryable, options: { streamType: string; streamIds?: readonly string[]; limit?: number }): Promise<string[]> {
  const { rows } = await db.query<{ stream_id: string }>(
    `SELECT stream_id FROM streams
      WHERE stream_type = $1 AND ($2::text[] IS NULL OR stream_id = ANY($2::text[]))
      ORDER BY updated_at DESC, stream_id LIMIT $3`,
    [options.streamType, onlyThese(options.streamIds), options.limit ?? null],
  );
  return rows.map((r) => r.stream_id);
}

/** An event id stored more than once, and the streams holding it. */
export interface DuplicateEventId {
  eventId: string;
  count: number;
  streamIds: string[];
}

/**
 * Event ids stored more than once (the unique index forbids it: this checks the index), counting
 * only the events of `streamIds` when given.
 */
export async function findDuplicateEventIds(db: Queryable, options: { streamIds?: readonly string[] } = {}): Promise<DuplicateEventId[]> {
  const { rows } = await db.query<{ event_id: string; n: string; streams: string[] }>(
    `SELECT event_id, count(*) AS n, array_agg(DISTINCT stream_id) AS streams FROM events
      WHERE ($1::text[] IS NULL OR stream_id = ANY($1::text[]))
      GROUP BY event_id HAVING count(*) > 1`,
    [onlyThese(options.streamIds)],
  );
  return rows.map((r) => ({ eventId: r.event_id, count: Number(r.n), streamIds: r.streams }));
}

/**
 * A stream whose events are not exactly versions 1..N with N its `streams.version`: a `streams`
 * row without events (`eventCount` 0, no min or max), events without a `streams` row
 * (`streamVersion` null), or a hole or overhang.
 */
export interface StreamVersionMismatch {
  streamId: string;
  streamVersion: number | null;
  eventCount: number;
  minVersion: number | null;
  maxVersion: number | null;
}

/**
 * The streams (of `streamIds` when given) whose events are not versions 1..N, N = streams.version.
 * With (stream_id, version) unique, count = N, min = 1 and max = N mean contiguous.
 */
export async function findStreamVersionMismatches(db: Queryable, options: { streamIds?: readonly string[] } = {}): Promise<StreamVersionMismatch[]> {
  const { rows } = await db.query<{ stream_id: string; version: string | null; n: string; min_v: string | null; max_v: string | null }>(
    `WITH per_stream AS (
       SELECT stream_id, count(*) AS n, min(version) AS min_v, max(version) AS max_v FROM events
        WHERE ($1::text[] IS NULL OR stream_id = ANY($1::text[]))
        GROUP BY stream_id
     )
     SELECT coalesce(s.stream_id, p.stream_id) AS stream_id, s.version, coalesce(p.n, 0) AS n, p.min_v, p.max_v
       FROM (SELECT stream_id, version FROM streams WHERE ($1::text[] IS NULL OR stream_id = ANY($1::text[]))) s
       FULL JOIN per_stream p ON p.stream_id = s.stream_id
      WHERE s.stream_id IS NULL OR p.stream_id IS NULL
         OR p.n <> s.version OR p.min_v <> 1 OR p.max_v <> s.version`,
    [onlyThese(options.streamIds)],
  );
  const asNumber = (text: string | null) => (text === null ? null : Number(text));
  return rows.map((r) => ({
    streamId: r.stream_id,
    streamVersion: asNumber(r.version),
    eventCount: Number(r.n),
    minVersion: asNumber(r.min_v),
    maxVersion: asNumber(r.max_v),
  }));
}
