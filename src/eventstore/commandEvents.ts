import type { Queryable } from './queryable';
import type { RecordedEvent } from './types';

/*
 * Look-ups by what the writer stored beside the events: a stream's version, and which events a
 * command id produced (`metadata.commandId`, by the `events_by_command` index of the keyed
 * aggregates, so the cost does not grow with the stream). Metadata is not versioned: no upcasting.
 */

/** The stream's version: 0 when it does not exist. */
export async function streamVersion(db: Queryable, streamId: string): Promise<number> {
  const { rows } = await db.query<{ version: string }>('SELECT version FROM streams WHERE stream_id = $1', [streamId]);
  return Number(rows[0]?.version ?? 0);
}

/** A command's event as the look-up returns it. */
export type CommandEvent = Pick<RecordedEvent, 'version' | 'type' | 'metadata'>;

/** The events of `stream` stored with any of `commandIds` as their `metadata.commandId`, in version order. */
export async function eventsOfCommands(db: Queryable, stream: { id: string; type: string }, commandIds: readonly string[]): Promise<CommandEvent[]> {
  const { rows } = await db.query<{ version: string; type: string; metadata: RecordedEvent['metadata'] }>(
    `SELECT version, type, metadata FROM events
      WHERE stream_id = $1 AND stream_type = $2 AND metadata->>'commandId' = ANY($3::text[])
      ORDER BY version`,
    [stream.id, stream.type, [...commandIds]],
  );
  return rows.map((r) => ({ version: Number(r.version), type: r.type, metadata: r.metadata }));
}
