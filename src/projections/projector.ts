import pg, { DatabaseError } from 'pg';
import { withClient, type Pool, type PoolClient } from '../db/pool';
import { changePayload, READ_MODEL_CHANNEL } from '../db/readModelChanges';
import { EVENTS_APPENDED_CHANNEL, type Checkpoint, type Queryable, type RecordedEvent } from '../eventstore';
import type { Logger } from '../logger';
import { countCheckoutOutcome, countParked, observeProjectorBatch, observeProjectorLeader } from '../metrics';
import { ORDER_SUMMARY } from './orderSummary';
import { handledByStream, handles, type Projection } from './types';
import { readAll } from '../application/eventStore';

/** Advisory lock namespace of "the one active instance of projection X"; the key is hashtext(name). */
export const PROJECTION_LOCK = 727_002;

export interface ProjectorOptions {
  batchSize?: number;
  /** The safety net once quiet: a poll this often even without a notification (default 1000). */
  idleMs?: number;
  /** Attempts of one event's handler before the event is parked as a dead letter. */
  maxAttempts?: number;
  /** How often an instance that does not hold a projection's lock tries to take it. */
  lockRetryMs?: number;
  logger?: Logger;
  /** Test hook: runs after a batch's events are applied, before its commit. Throwing aborts the batch. */
  beforeCommit?: (projection: string, events: readonly RecordedEvent[]) => Promise<void>;
}

/** A sleep that a notification ends early; a ring while nobody sleeps ends the next sleep at once. */
class Alarm {
  private rung = false;
  private wake: (() => void) | undefined;

  ring(): void {
    this.rung = true;
    this.wake?.();
  }

  /** Resolves true when rung, false when `ms` passed. */
  sleep(ms: number): Promise<boolean> {
    if (this.rung) {
      this.rung = false;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve(false);
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        this.rung = false;
        resolve(true);
      };
    });
  }
}

/**
 * Keepalives on the lock connection: a holder whose host or network vanished without closing the
 * socket loses its locks after about 10 + 3 × 5 s, instead of Linux's default two hours.
 */
const LOCK_SESSION_OPTIONS = '-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3';

/** Connection loss, serialization failures, overload: the batch is retried, the event is not to blame. */
export function isTransient(err: unknown): boolean {
  if (err instanceof DatabaseError) return /^(08|40|53|57)/.test(err.code ?? '');
  return err instanceof Error && /Connection terminated|connection.*(closed|ended)|ECONNRESET|ECONNREFUSED/i.test(err.message);
}

export async function ensureCheckpoint(db: Queryable, name: string): Promise<void> {
  await db.query('INSERT INTO projection_checkpoints (name) VALUES ($1) ON CONFLICT (name) DO NOTHING', [name]);
}

export async function readCheckpoint(db: Queryable, name: string): Promise<Checkpoint> {
  const { rows } = await db.query<{ transaction_id: string; global_position: string }>(
    'SELECT transaction_id::text AS transaction_id, global_position FROM projection_checkpoints WHERE name = $1',
    [name],
  );
  const row = rows[0];
  return row ? { transactionId: row.transaction_id, globalPosition: Number(row.global_position) } : { transactionId: '0', globalPosition: 0 };
}

/**
 * Applies one event alone, retrying its handler up to `maxAttempts` times inside a savepoint; then
 * parks it in `dead_letters` (in the same transaction) so the projection moves on. Transient
 * errors are not the event's fault: they fail the whole batch, which is retried.
 */
export async function applyOrPark(tx: Queryable, projection: Projection, event: RecordedEvent, maxAttempts: number): Promise<'applied' | 'parked'> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    await tx.query('SAVEPOINT projection_apply');
    try {
      await projection.applyStream(tx, [event]);
      await tx.query('RELEASE SAVEPOINT projection_apply');
      return 'applied';
    } catch (err) {
      // A dead connection cannot roll back to the savepoint: that fails the batch, as it should.
      await tx.query('ROLLBACK TO SAVEPOINT projection_apply');
      if (isTransient(err)) throw err;
      lastError = err;
    }
  }
  await tx.query(
    `INSERT INTO dead_letters (projection, event_id, stream_id, version, global_position, event_type, error, attempts)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (projection, event_id) DO UPDATE
       SET error = EXCLUDED.error, attempts = dead_letters.attempts + EXCLUDED.attempts, parked_at = now()`,
    [projection.name, event.eventId, event.streamId, event.version, event.globalPosition, event.type, describeError(lastError), maxAttempts],
  );
  return 'parked';
}

/**
 * Applies the events of a batch that `projection` handles: one `applyStreams` (or one
 * `applyStream` per stream), all under one savepoint, so a model folds and writes each stream once
 * per batch. When that fails (not transiently) it is rolled back and the batch is applied again
 * event by event (`applyOrPark`), which finds the event to blame, parks it after its attempts and
 * applies the others.
 * Returns how many events it parked.
 */
export async function applyBatch(tx: Queryable, projection: Projection, events: readonly RecordedEvent[], maxAttempts: number): Promise<number> {
  const streams = handledByStream(projection, events);
  if (streams.length === 0) return 0;
  await tx.query('SAVEPOINT projection_batch');
  try {
    if (projection.applyStreams) await projection.applyStreams(tx, streams);
    else for (const stream of streams) await projection.applyStream(tx, stream);
    await tx.query('RELEASE SAVEPOINT projection_batch');
    return 0;
  } catch (err) {
    await tx.query('ROLLBACK TO SAVEPOINT projection_batch');
    if (isTransient(err)) throw err;
  }
  let parked = 0;
  for (const event of events) {
    if (handles(projection, event) && (await applyOrPark(tx, projection, event, maxAttempts)) === 'parked') parked++;
  }
  return parked;
}

/**
 * Metrics of a committed batch, counted only after COMMIT so a batch rolled back and retried
 * counts once. Checkout outcomes are counted from the order summary's batches: a saga's report is
 * stored once as an event and each projection commits each event once, so one projection must do
 * the counting (a rebuild goes through applyBatch, not here, and counts nothing again).
 */
function observeCommitted(projection: string, events: readonly RecordedEvent[], parked: number): void {
  observeProjectorBatch(projection, events.length);
  if (parked > 0) countParked(projection, parked);
  if (projection === ORDER_SUMMARY) events.forEach(countCheckoutOutcome);
}

export function describeError(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 2000);
}

/**
 * Runs one batch of `projection` on `client`: reads its checkpoint, the next events of the global
 * order after it, applies them and moves the checkpoint, all in one transaction. The checkpoint
 * update only succeeds from the checkpoint the batch started at, so a second instance (a lost
 * lock, a rebuild's swap) can never make an event count twice: the loser rolls back. A batch that
 * applied events notifies READ_MODEL_CHANNEL with their streams as it commits.
 * Returns how many events the batch passed (0: nothing new, or lost the race).
 */
export async function runBatch(
  client: PoolClient,
  projection: Projection,
  options: { batchSize: number; maxAttempts: number; beforeCommit?: ProjectorOptions['beforeCommit'] },
): Promise<number> {
  const from = await readCheckpoint(client, projection.name);
  // Before BEGIN's first write: a transaction with an id would hold readAll below itself.
  const { events, checkpoint } = await readAll(client, { after: from, limit: options.batchSize });
  if (events.length === 0) return 0;
  await client.query('BEGIN');
  try {
    const parked = await applyBatch(client, projection, events, options.maxAttempts);
    await options.beforeCommit?.(projection.name, events);
    const moved = await client.query(
      `UPDATE projection_checkpoints SET transaction_id = $2::xid8, global_position = $3, updated_at = now()
        WHERE name = $1 AND transaction_id = $4::xid8 AND global_position = $5`,
      [projection.name, checkpoint.transactionId, checkpoint.globalPosition, from.transactionId, from.globalPosition],
    );
    if (moved.rowCount !== 1) {
      await client.query('ROLLBACK');
      return 0;
    }
    // Reads waiting for these streams (?minVersion) are woken by this, delivered on COMMIT only.
    const applied = events.filter((event) => handles(projection, event)).map((event) => event.streamId);
    if (applied.length > 0) await client.query('SELECT pg_notify($1, $2)', [READ_MODEL_CHANNEL, changePayload(projection.name, applied)]);
    await client.query('COMMIT');
    observeCommitted(projection.name, events, parked);
    return events.length;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/**
 * While active (for QUIET_AFTER_MS after a wake-up or a batch, and while readAll is held back) the
 * projector polls every POLL_MS: an append that skipped its notification commits a moment after
 * the one that sent it (migration 006).
 */
const POLL_MS = 20;
const QUIET_AFTER_MS = 250;

/** The least an instance that lost its lock session waits before it tries the locks again. */
const MIN_STAND_BY_MS = 1000;

/** What the probe found past the checkpoints: events to read now, events a running writer still holds back, or nothing. */
type Backlog = 'ready' | 'held' | 'none';

/**
 * A catch-up subscription for a set of projections over the gap-safe `readAll`. Each projection
 * runs only where its advisory lock is held (on a dedicated connection), so any number of
 * processes may run a Projector; the others stand by and take over when the holder goes away.
 * The same connection LISTENs for appends (EVENTS_APPENDED_CHANNEL), which wake the loop; it polls
 * every POLL_MS while active and every `idleMs` once quiet, the safety net for notifications lost
 * while it reconnected or skipped by an append (see migration 006).
 */
export class Projector {
  private readonly batchSize: number;
  private readonly idleMs: number;
  private readonly maxAttempts: number;
  private readonly lockRetryMs: number;
  private lockClient: pg.Client | undefined;
  private readonly held = new Set<string>();
  private lastLockAttempt = 0;
  private standByUntil = 0;
  private activeAt = 0;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private readonly alarm = new Alarm();

  constructor(
    private readonly pool: Pool,
    private readonly connectionString: string,
    readonly projections: readonly Projection[],
    private readonly options: ProjectorOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 200;
    this.idleMs = options.idleMs ?? 1000;
    this.maxAttempts = options.maxAttempts ?? 3;
    this.lockRetryMs = options.lockRetryMs ?? 1000;
  }

  start(): this {
    for (const projection of this.projections) observeProjectorLeader(projection.name, false);
    this.loop ??= this.run();
    return this;
  }

  /** The projections this instance is running now. */
  running(): string[] {
    return [...this.held];
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.alarm.ring();
    await this.loop;
    await this.dropLocks();
  }

  private async run(): Promise<void> {
    let failures = 0;
    let passed = 0;
    while (!this.stopped) {
      try {
        await this.takeLocks();
        const mine = this.projections.filter((p) => this.held.has(p.name));
        // Right after a round that passed events more are likely: the batches' reads are the probe.
        const backlog = mine.length === 0 ? 'none' : passed > 0 ? 'ready' : await this.backlog(mine);
        passed = backlog === 'ready' ? await this.batches(mine) : 0;
        failures = 0;
        if (backlog !== 'none') this.activeAt = Date.now();
        if (passed === 0 && !this.stopped) {
          const active = backlog === 'held' || Date.now() - this.activeAt < QUIET_AFTER_MS;
          if (await this.alarm.sleep(mine.length === 0 ? this.lockRetryMs : active ? POLL_MS : this.idleMs)) this.activeAt = Date.now();
        }
      } catch (err) {
        passed = 0;
        failures++;
        this.options.logger?.warn({ err, failures }, 'projector round failed; retrying');
        if (!this.lockClient) this.lost();
        if (!this.stopped) await this.alarm.sleep(Math.min(50 * 2 ** failures, 2000));
      }
    }
  }

  /**
   * One batch of each projection, side by side on their own connections: they share nothing but
   * the events they read, so one projection's commit does not wait for the others' (each waits
   * for its WAL flush). All settle before the next round, so a projection never runs two batches.
   */
  private async batches(projections: readonly Projection[]): Promise<number> {
    const results = await Promise.allSettled(projections.map((projection) => this.batch(projection)));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    return results.reduce((sum, r) => sum + (r.status === 'fulfilled' ? r.value : 0), 0);
  }

  private batch(projection: Projection): Promise<number> {
    // withClient: a connection the batch failed on is rolled back, or destroyed when it broke.
    return withClient(this.pool, (client) =>
      runBatch(client, projection, { batchSize: this.batchSize, maxAttempts: this.maxAttempts, beforeCommit: this.options.beforeCommit }),
    );
  }

  /**
   * One cheap probe for all projections: the first event past each checkpoint in the global order
   * (the index's order), readable now if its transaction is below every running one.
   */
  private async backlog(projections: readonly Projection[]): Promise<Backlog> {
    const { rows } = await this.pool.query<{ ready: boolean | null; any: boolean }>(
      `SELECT bool_or(next.transaction_id < pg_snapshot_xmin(pg_current_snapshot())) AS ready, count(*) > 0 AS any
         FROM projection_checkpoints c
        CROSS JOIN LATERAL (
          SELECT e.transaction_id FROM events e
           WHERE (e.transaction_id, e.global_position) > (c.transaction_id, c.global_position)
           ORDER BY e.transaction_id, e.global_position
           LIMIT 1) next
        WHERE c.name = ANY($1)`,
      [projections.map((p) => p.name)],
    );
    const row = rows[0];
    return row?.ready ? 'ready' : row?.any ? 'held' : 'none';
  }

  private async takeLocks(): Promise<void> {
    if (this.held.size === this.projections.length || Date.now() < this.standByUntil) return;
    if (this.held.size > 0 && Date.now() - this.lastLockAttempt < this.lockRetryMs) return;
    this.lastLockAttempt = Date.now();
    const client = this.lockClient ?? (await this.connectLockClient());
    for (const projection of this.projections) {
      if (this.held.has(projection.name)) continue;
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked', [PROJECTION_LOCK, projection.name]);
      if (rows[0]?.locked) {
        await ensureCheckpoint(this.pool, projection.name);
        this.held.add(projection.name);
        observeProjectorLeader(projection.name, true);
        this.options.logger?.info({ projection: projection.name }, 'projection running here');
      }
    }
  }

  /**
   * The session that holds the locks and LISTENs. Losing it loses both: the loop stops running the
   * projections and connects again in its next round (with backoff while that fails); a new
   * connection misses nothing, as each projection's first round after taking its lock reads.
   */
  private async connectLockClient(): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: this.connectionString,
      application_name: 'order-actors-projector',
      options: LOCK_SESSION_OPTIONS,
      keepAlive: true,
    });
    const lost = () => {
      if (this.lockClient !== client) return;
      this.lockClient = undefined;
      this.lost();
      this.alarm.ring(); // out of a long idle sleep: the loop reconnects once the stand-by is over
      client.end().catch(() => undefined);
      if (!this.stopped) this.options.logger?.warn('projector lost its lock connection; standing by until it reconnects');
    };
    client.on('error', lost);
    client.on('end', lost);
    // Only a holder has work to wake for; a standby tries the locks every lockRetryMs.
    client.on('notification', () => {
      if (this.held.size > 0) this.alarm.ring();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${EVENTS_APPENDED_CHANNEL}`);
    } catch (err) {
      client.end().catch(() => undefined);
      throw err;
    }
    this.lockClient = client;
    return client;
  }

  /**
   * Its locks are gone. An instance whose session broke waits before it contends again, so that a
   * healthy standby (trying every lockRetryMs) takes over rather than the instance that just failed.
   */
  private lost(): void {
    for (const name of this.held) observeProjectorLeader(name, false);
    this.held.clear();
    this.standByUntil = Date.now() + Math.max(2 * this.lockRetryMs, MIN_STAND_BY_MS);
  }

  private async dropLocks(): Promise<void> {
    const client = this.lockClient;
    this.lockClient = undefined;
    this.lost();
    await client?.end().catch(() => undefined); // ending the session releases its advisory locks
  }
}
