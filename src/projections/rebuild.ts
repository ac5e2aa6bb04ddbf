import pg from 'pg';
import { withClient, type Pool } from '../db/pool';
import { START, type Checkpoint, type Queryable } from '../eventstore';
import { applyBatch } from './projector';
import type { Projection } from './types';
import { readAll } from '../application/eventStore';

/** Advisory lock namespace of "projection X is being rebuilt"; the key is hashtext(name). */
export const REBUILD_LOCK = 727_003;

export interface RebuildOptions {
  batchSize?: number;
  maxAttempts?: number;
  onProgress?: (processed: number, total: number) => void | Promise<void>;
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Applies batches into the shadow schema until readAll has nothing more; returns the new checkpoint. */
async function catchUp(
  tx: Queryable,
  projection: Projection,
  shadow: string,
  from: Checkpoint,
  options: { batchSize: number; maxAttempts: number; inTransaction: boolean; progress: (n: number) => Promise<void> },
): Promise<Checkpoint> {
  let checkpoint = from;
  for (;;) {
    const batch = await readAll(tx, { after: checkpoint, limit: options.batchSize });
    if (batch.events.length === 0) return checkpoint;
    if (!options.inTransaction) await tx.query('BEGIN');
    // The projection writes unqualified names: they land in the shadow; `events` stays public.
    await tx.query(`SET LOCAL search_path = ${quoteIdent(shadow)}, public`);
    await applyBatch(tx, projection, batch.events, options.maxAttempts);
    checkpoint = batch.checkpoint;
    if (!options.inTransaction) await tx.query('COMMIT');
    await options.progress(batch.events.length);
  }
}

/**
 * Rebuilds a projection from position 0 into a shadow schema (the same table definitions) while
 * the live model keeps serving, then swaps the shadow in and sets the checkpoint, in one
 * transaction. The swap locks the live tables first, so a live batch either commits before it or
 * finds the checkpoint moved and rolls back: every event still counts once in the model.
 */
export async function rebuildProjection(
  pool: Pool,
  connectionString: string,
  projection: Projection,
  options: RebuildOptions = {},
): Promise<{ events: number; checkpoint: Checkpoint }> {
  const tables = projection.tables ?? [];
  if (tables.length === 0) throw new Error(`Projection ${projection.name} declares no tables: it cannot be rebuilt.`);
  if (!/^[a-z_][a-z0-9_]*$/.test(projection.name)) throw new Error(`Projection name ${projection.name} is not a plain identifier.`);
  const shadow = `rebuild_${projection.name}`;
  const retired = `${shadow}_old`;
  const batchSize = options.batchSize ?? 500;
  const maxAttempts = options.maxAttempts ?? 3;

  const lock = new pg.Client({ connectionString, application_name: 'order-actors-rebuild' });
  lock.on('error', () => undefined);
  await lock.connect();
  try {
    const { rows } = await lock.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked', [REBUILD_LOCK, projection.name]);
    // Refused before anything is touched: the progress row is the running rebuild's.
    if (!rows[0]?.locked) throw new Error(`Projection ${projection.name} is already being rebuilt.`);
    return await rebuildHoldingLock(pool, projection, { shadow, retired, tables, batchSize, maxAttempts, onProgress: options.onProgress }).catch(
      async (err: unknown) => {
        await pool.query('DELETE FROM public.projection_rebuilds WHERE name = $1', [projection.name]).catch(() => undefined);
        throw err;
      },
    );
  } finally {
    await lock.end().catch(() => undefined);
  }
}

/** The rebuild itself, once this process holds the projection's rebuild lock. */
function rebuildHoldingLock(
  pool: Pool,
  projection: Projection,
  {
    shadow,
    retired,
    tables,
    batchSize,
    maxAttempts,
    onProgress,
  }: { shadow: string; retired: string; tables: readonly string[]; batchSize: number; maxAttempts: number; onProgress: RebuildOptions['onProgress'] },
): Promise<{ events: number; checkpoint: Checkpoint }> {
  // withClient: rolled back on failure, and destroyed when the connection broke.
  return withClient(pool, async (client) => {
    await client.query('BEGIN');
    await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(shadow)} CASCADE`);
    await client.query(`CREATE SCHEMA ${quoteIdent(shadow)}`);
    for (const table of tables) {
      await client.query(`CREATE TABLE ${quoteIdent(shadow)}.${quoteIdent(table)} (LIKE public.${quoteIdent(table)} INCLUDING ALL)`);
    }
    const total = Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM events')).rows[0]!.n);
    await client.query(
      `INSERT INTO public.projection_rebuilds (name, total) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET started_at = now(), processed = 0, total = EXCLUDED.total`,
      [projection.name, total],
    );
    await client.query('COMMIT');

    let processed = 0;
    const progress = async (n: number) => {
      processed += n;
      await client.query('UPDATE public.projection_rebuilds SET processed = $2, total = GREATEST(total, $2) WHERE name = $1', [projection.name, processed]);
      await onProgress?.(processed, Math.max(total, processed));
    };
    const built = await catchUp(client, projection, shadow, START, { batchSize, maxAttempts, inTransaction: false, progress });

    // The swap: lock the live tables (waits for a live batch to finish), fold what came since,
    // move the checkpoint to the shadow's, and exchange the tables.
    await client.query('BEGIN');
    await client.query(`LOCK TABLE ${tables.map((t) => `public.${quoteIdent(t)}`).join(', ')} IN ACCESS EXCLUSIVE MODE`);
    const final = await catchUp(client, projection, shadow, built, { batchSize, maxAttempts, inTransaction: true, progress });
    await client.query('SET LOCAL search_path = public');
    await client.query(
      `INSERT INTO projection_checkpoints (name, transaction_id, global_position) VALUES ($1, $2::xid8, $3)
         ON CONFLICT (name) DO UPDATE SET transaction_id = EXCLUDED.transaction_id, global_position = EXCLUDED.global_position, updated_at = now()`,
      [projection.name, final.transactionId, final.globalPosition],
    );
    await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(retired)} CASCADE`);
    await client.query(`CREATE SCHEMA ${quoteIdent(retired)}`);
    for (const table of tables) {
      await client.query(`ALTER TABLE public.${quoteIdent(table)} SET SCHEMA ${quoteIdent(retired)}`);
      await client.query(`ALTER TABLE ${quoteIdent(shadow)}.${quoteIdent(table)} SET SCHEMA public`);
    }
    await client.query(`DROP SCHEMA ${quoteIdent(retired)} CASCADE`);
    await client.query(`DROP SCHEMA ${quoteIdent(shadow)} CASCADE`);
    await client.query('DELETE FROM projection_rebuilds WHERE name = $1', [projection.name]);
    await client.query('COMMIT');
    return { events: processed, checkpoint: final };
  });
}
