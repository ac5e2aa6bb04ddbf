import { withClient } from '../db/pool';
import type { Queryable, TransactionalDb } from '../eventstore';
import { describeError, PROJECTION_LOCK } from './projector';
import { REBUILD_LOCK } from './rebuild';
import type { Projection } from './types';
import { readStream } from '../application/eventStore';

export interface ProjectionStatus {
  name: string;
  state: 'running' | 'rebuilding' | 'stopped';
  checkpoint: { transactionId: string; globalPosition: number; updatedAt: string } | null;
  lag: { events: number; ms: number };
  parkedEvents: number;
  rebuild: { startedAt: string; processed: number; total: number } | null;
}

const lockHeld = (db: Queryable, key: number, name: string) =>
  db
    .query<{ held: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_locks
                       WHERE locktype = 'advisory' AND granted AND classid = $1::int::oid
                         AND objid = hashtext($2)::oid AND objsubid = 2) AS held`,
      [key, name],
    )
    .then((r) => r.rows[0]?.held === true);

/** Per projection: its checkpoint, how far behind the event table it is, whether it runs, what it parked. */
export async function projectionStatuses(db: Queryable, projections: readonly Projection[]): Promise<ProjectionStatus[]> {
  return Promise.all(
    projections.map(async ({ name }) => {
      const [lag, running, rebuilding, parked, rebuild] = await Promise.all([
        db.query<{ transaction_id: string | null; global_position: string | null; updated_at: Date | null; events: string; oldest: Date | null }>(
          `SELECT c.transaction_id::text AS transaction_id, c.global_position, c.updated_at, l.events, l.oldest
             FROM (SELECT $1::text AS name) n
             LEFT JOIN projection_checkpoints c ON c.name = n.name
             CROSS JOIN LATERAL (
               SELECT count(*) AS events, min(e.recorded_at) AS oldest FROM events e
                WHERE (e.transaction_id, e.global_position) > (COALESCE(c.transaction_id, '0'::xid8), COALESCE(c.global_position, 0))) l`,
          [name],
        ),
        lockHeld(db, PROJECTION_LOCK, name),
        lockHeld(db, REBUILD_LOCK, name),
        db.query<{ n: string }>('SELECT count(*) AS n FROM dead_letters WHERE projection = $1', [name]),
        db.query<{ started_at: Date; processed: string; total: string }>('SELECT * FROM projection_rebuilds WHERE name = $1', [name]),
      ]);
      const row = lag.rows[0]!;
      const progress = rebuild.rows[0];
      return {
        name,
        state: rebuilding ? 'rebuilding' : running ? 'running' : 'stopped',
        checkpoint:
          row.transaction_id === null
            ? null
            : { transactionId: row.transaction_id, globalPosition: Number(row.global_position), updatedAt: row.updated_at!.toISOString() },
        lag: { events: Number(row.events), ms: row.oldest ? Math.max(0, Date.now() - row.oldest.getTime()) : 0 },
        parkedEvents: Number(parked.rows[0]?.n ?? 0),
        rebuild:
          rebuilding && progress
            ? { startedAt: progress.started_at.toISOString(), processed: Number(progress.processed), total: Number(progress.total) }
            : null,
      } satisfies ProjectionStatus;
    }),
  );
}

export interface DeadLetter {
  id: number;
  projection: string;
  eventId: string;
  streamId: string;
  version: number;
  globalPosition: number;
  eventType: string;
  error: string;
  attempts: number;
  parkedAt: string;
}

interface DeadLetterRow {
  id: string;
  projection: string;
  event_id: string;
  stream_id: string;
  version: string;
  global_position: string;
  event_type: string;
  error: string;
  attempts: number;
  parked_at: Date;
}

const toDeadLetter = (r: DeadLetterRow): DeadLetter => ({
  id: Number(r.id),
  projection: r.projection,
  eventId: r.event_id,
  streamId: r.stream_id,
  version: Number(r.version),
  globalPosition: Number(r.global_position),
  eventType: r.event_type,
  error: r.error,
  attempts: r.attempts,
  parkedAt: r.parked_at.toISOString(),
});

export async function listDeadLetters(db: Queryable, filter: { projection?: string; limit: number }): Promise<DeadLetter[]> {
  const { rows } = await db.query<DeadLetterRow>('SELECT * FROM dead_letters WHERE ($1::text IS NULL OR projection = $1) ORDER BY id LIMIT $2', [
    filter.projection ?? null,
    filter.limit,
  ]);
  return rows.map(toDeadLetter);
}

export type RetryOutcome = { outcome: 'applied'; deadLetter: DeadLetter } | { outcome: 'failed'; deadLetter: DeadLetter } | { outcome: 'not_found' };

/**
 * Applies a parked event now, in one transaction with removing it. The projections' own guards
 * (model versions, the inbox) make this safe next to the running projector. A failure counts as
 * one more attempt and leaves the dead letter in place.
 */
export function retryDeadLetter(db: TransactionalDb, id: number, projections: readonly Projection[]): Promise<RetryOutcome> {
  // withClient: rolled back on failure, and destroyed when the connection broke.
  return withClient(db, async (tx): Promise<RetryOutcome> => {
    await tx.query('BEGIN');
    const { rows } = await tx.query<DeadLetterRow>('SELECT * FROM dead_letters WHERE id = $1 FOR UPDATE', [id]);
    const row = rows[0];
    if (!row) {
      await tx.query('ROLLBACK');
      return { outcome: 'not_found' };
    }
    const projection = projections.find((p) => p.name === row.projection);
    const [event] = await readStream(tx, row.stream_id, { fromVersion: Number(row.version), toVersion: Number(row.version) });
    let error: string | undefined;
    if (!projection) error = `No projection named ${row.projection} runs here.`;
    else if (!event || event.eventId !== row.event_id) error = `Event ${row.event_id} is not at ${row.stream_id} version ${row.version}.`;
    else {
      await tx.query('SAVEPOINT dead_letter_retry');
      try {
        await projection.applyStream(tx, [event]);
      } catch (err) {
        await tx.query('ROLLBACK TO SAVEPOINT dead_letter_retry');
        error = describeError(err);
      }
    }
    if (error === undefined) {
      await tx.query('DELETE FROM dead_letters WHERE id = $1', [id]);
      await tx.query('COMMIT');
      return { outcome: 'applied', deadLetter: toDeadLetter(row) };
    }
    const updated = await tx.query<DeadLetterRow>('UPDATE dead_letters SET attempts = attempts + 1, error = $2, parked_at = now() WHERE id = $1 RETURNING *', [
      id,
      error,
    ]);
    await tx.query('COMMIT');
    return { outcome: 'failed', deadLetter: toDeadLetter(updated.rows[0]!) };
  });
}
