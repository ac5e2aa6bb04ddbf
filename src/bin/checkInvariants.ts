/**
 * `npm run check:invariants [-- --max-orders N --concurrency N --call-timeout-ms N --read-attempts N --notes N]`:
 * checks the system's invariants against a live database and Temporal, reading only. Needs
 * DATABASE_URL and TEMPORAL_ADDRESS. Prints a table; exits 1 when any invariant FAILs, 2 when the
 * check itself could not run.
 *
 * Invariants 1, 2, 3 and 5 read inside one REPEATABLE READ, READ ONLY transaction, so they see one
 * consistent snapshot (committed before 4 starts); invariants 4 and 6 read fresh (the actors keep
 * moving) and give each Temporal call a deadline (--call-timeout-ms, default 5000); an order that
 * does not answer is asked --read-attempts times (default 5) with backoff, a stranded one (its
 * workflow task failing) once. Every session is also `default_transaction_read_only`, so nothing
 * here can write.
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadConfig, required } from '../config';
import { anyFailed, formatReport, runInvariants } from '../invariants';
import { connectClient } from '../temporal';

function positiveInt(values: Record<string, string | undefined>, name: string): number | undefined {
  const text = values[name];
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} needs a positive whole number`);
  return value;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      'max-orders': { type: 'string' },
      concurrency: { type: 'string' },
      'call-timeout-ms': { type: 'string' },
      'read-attempts': { type: 'string' },
      notes: { type: 'string' },
    },
    strict: true,
  });
  const concurrency = positiveInt(values, 'concurrency');
  const callTimeoutMs = positiveInt(values, 'call-timeout-ms');
  const workflows = { maxOrders: positiveInt(values, 'max-orders'), concurrency, callTimeoutMs, readAttempts: positiveInt(values, 'read-attempts') };
  const notesPerInvariant = positiveInt(values, 'notes');
  const config = loadConfig();
  const databaseUrl = required(config, 'DATABASE_URL');
  const temporalAddress = required(config, 'TEMPORAL_ADDRESS');

  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: 4,
    application_name: 'order-actors-invariants',
    options: '-c default_transaction_read_only=on',
  });
  pool.on('error', () => undefined);
  const client = await connectClient(temporalAddress, config.TEMPORAL_NAMESPACE);
  const snapshot = await pool.connect();
  try {
    await snapshot.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const startedAt = Date.now();
    const results = await runInvariants({
      db: snapshot,
      freshDb: pool,
      client,
      workflows,
      checkouts: { concurrency, callTimeoutMs },
      // End the snapshot before the slow Temporal part, so no locks are held meanwhile.
      afterSnapshotChecks: async () => {
        await snapshot.query('COMMIT');
      },
    });
    const report = formatReport(results, { notesPerInvariant });
    process.stdout.write(`${report}\n(checked in ${((Date.now() - startedAt) / 1000).toFixed(1)}s)\n`);
    return anyFailed(results) ? 1 : 0;
  } finally {
    await snapshot.query('ROLLBACK').catch(() => undefined);
    snapshot.release();
    await client.connection.close();
    await pool.end();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`check:invariants could not run: ${(err as Error).message}\n`);
    process.exit(2);
  },
);
