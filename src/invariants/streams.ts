import { type Queryable } from '../eventstore';
import { eventSchemas } from '../domain/eventSchemas';
import { type UpcasterRegistry } from '../domain/upcasting';

/** A stored event as the checks need it, in its current schema. */
export interface CheckedEvent {
  streamId: string;
  version: number;
  eventId: string;
  type: string;
  data: unknown;
}

/** One stream: its version in `streams` and its events up to that version, in version order. */
export interface LoadedStream {
  streamId: string;
  streamType: string;
  version: number;
  events: CheckedEvent[];
}

/** The columns the checks select from `events` (bigints as strings). */
interface EventRow {
  stream_id: string;
  stream_type: string;
  version: string;
  event_id: string;
  type: string;
  schema_version: number;
  data: unknown;
}

/**
 * Every stream of a type (or only `streamIds`), a page of streams at a time in stream id order,
 * so memory stays bounded by the page on a large database. Events beyond the version read from
 * `streams` (appended since, outside a snapshot) are left out, so a stream is seen at one version.
 */
export async function* streamsOfType(
  db: Queryable,
  streamType: string,
  options: { streamIds?: readonly string[]; pageSize?: number; schemas?: UpcasterRegistry } = {},
): AsyncGenerator<LoadedStream> {
  const pageSize = options.pageSize ?? 500;
  const schemas = options.schemas ?? eventSchemas;
  const only = options.streamIds ? [...options.streamIds] : null;
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
    const { rows } = await db.query<EventRow>(
      `SELECT stream_id, stream_type, version, event_id, type, schema_version, data FROM events
        WHERE stream_id = ANY($1::text[]) ORDER BY stream_id, version`,
      [ids],
    );
    const byStream = new Map<string, CheckedEvent[]>(ids.map((id) => [id, []]));
    for (const row of rows) {
      const upcast = schemas.upcast({ streamType: row.stream_type, type: row.type, schemaVersion: row.schema_version, data: row.data });
      byStream.get(row.stream_id)!.push({ streamId: row.stream_id, version: Number(row.version), eventId: row.event_id, type: upcast.type, data: upcast.data });
    }
    for (const s of streams) {
      const version = Number(s.version);
      yield { streamId: s.stream_id, streamType, version, events: byStream.get(s.stream_id)!.filter((e) => e.version <= version) };
    }
    if (streams.length < pageSize) return;
    after = streams[streams.length - 1]!.stream_id;
  }
}

/** Folds with a decider's evolve, calling `check` after every event (for "never below zero"). */
export function foldChecked<State, Event>(
  initialState: State,
  evolve: (state: State, event: Event) => State,
  events: readonly CheckedEvent[],
  check?: (state: State, event: CheckedEvent) => void,
): State {
  let state = initialState;
  for (const e of events) {
    state = evolve(state, { type: e.type, data: e.data } as Event);
    check?.(state, e);
  }
  return state;
}

/** The stream ids of `filter.streamIds` that start with `prefix`, or undefined (= all). */
export function idsWithPrefix(streamIds: readonly string[] | undefined, prefix: string): string[] | undefined {
  return streamIds?.filter((id) => id.startsWith(prefix));
}

/** Runs `work` over `items`, at most `limit` at a time (the Temporal round trips of invariants 4 and 6). */
export async function withConcurrency<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(lanes);
}
