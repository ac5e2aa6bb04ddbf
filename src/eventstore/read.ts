import { eventSchemas } from './eventSchemas';
import type { Queryable } from './queryable';
import type { Checkpoint, RecordedEvent } from './types';
import type { UpcasterRegistry } from './upcasters';

const COLUMNS = `global_position, transaction_id::text AS transaction_id, stream_id, stream_type, version, event_id,
  type, schema_version, data, metadata, occurred_at, recorded_at`;

/** A row of the events table as node-postgres returns it (bigints as strings). */
export interface EventRow {
  global_position: string;
  transaction_id: string;
  stream_id: string;
  stream_type: string;
  version: string;
  event_id: string;
  type: string;
  schema_version: number;
  data: unknown;
  metadata: RecordedEvent['metadata'];
  occurred_at: Date;
  recorded_at: Date;
}

function toRecorded(row: EventRow): RecordedEvent {
  return {
    globalPosition: Number(row.global_position),
    transactionId: row.transaction_id,
    streamId: row.stream_id,
    streamType: row.stream_type,
    version: Number(row.version),
    eventId: row.event_id,
    type: row.type,
    schemaVersion: row.schema_version,
    data: row.data,
    metadata: row.metadata,
    occurredAt: row.occurred_at.toISOString(),
    recordedAt: row.recorded_at.toISOString(),
  };
}

/** Which registry turns stored events into their current shape; the application's by default. */
export interface ReadOptions {
  schemas?: UpcasterRegistry;
}

/**
 * A stream's events in version order, optionally between two versions (inclusive), each in its
 * current schema (older stored versions are upcast; the rows themselves are never changed).
 */
export async function readStream(
  db: Queryable,
  streamId: string,
  range: { fromVersion?: number; toVersion?: number } & ReadOptions = {},
): Promise<RecordedEvent[]> {
  const { rows } = await db.query<EventRow>(
    `SELECT ${COLUMNS} FROM events
      WHERE stream_id = $1 AND version >= $2 AND ($3::bigint IS NULL OR version <= $3)
      ORDER BY version`,
    [streamId, range.fromVersion ?? 1, range.toVersion ?? null],
  );
  const schemas = range.schemas ?? eventSchemas;
  return rows.map((row) => schemas.upcast(toRecorded(row)));
}

/**
 * The next events of the global order after `after`, for subscribers. Gap-safe: it only returns
 * rows whose writer's transaction is older than every transaction still running, so an event
 * committed late by a slow writer can never land behind a checkpoint already handed out. Events
 * come in their current schema, like `readStream`'s.
 */
export async function readAll(
  db: Queryable,
  options: { after: Checkpoint; limit: number } & ReadOptions,
): Promise<{ events: RecordedEvent[]; checkpoint: Checkpoint }> {
  const { rows } = await db.query<EventRow>(
    `SELECT ${COLUMNS} FROM events
      WHERE (transaction_id, global_position) > ($1::xid8, $2::bigint)
        AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
      -- events.transaction_id, not the bare name: that would be the text output column, and text
      -- order ('1000' < '999') disagrees with the checkpoint's xid8 order where ids gain a digit
      ORDER BY events.transaction_id, global_position
      LIMIT $3`,
    [options.after.transactionId, options.after.globalPosition, options.limit],
  );
  const schemas = options.schemas ?? eventSchemas;
  const events = rows.map((row) => schemas.upcast(toRecorded(row)));
  const last = events[events.length - 1];
  return {
    events,
    checkpoint: last ? { transactionId: last.transactionId, globalPosition: last.globalPosition } : options.after,
  };
}
