/**
 * `npm run check:invariants [-- --max-orders N --concurrency N --call-timeout-ms N --notes N]`: checks the system's
 * invariants against a live database and Temporal, reading only. Needs DATABASE_URL and
 * TEMPORAL_ADDRESS. Prints a table; exits 1 when any invariant FAILs, 2 when the check itself
 * could not run.
 *
 * Invariants 1, 2, 3 and 5 read inside one REPEATABLE READ, READ ONLY transaction, so they see one
 * consistent snapshot (committed before 4 starts); invariant 4 reads fresh (the actors keep moving)
 * and gives each order's Temporal calls a deadline (--call-timeout-ms, default 5000). Every session is also
 * `default_transaction_read_only`, so nothing here can write.
 */
import pg from 'pg';
import { loadConfig, required } from '../config';
import { anyFailed, formatReport, runInvariants } from '../invariants';
import { connectClient } from '../temporal';

function intArg(args: string[], name: string): number | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const value = Number(args[i + 1]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} needs a positive whole number`);
  return value;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const config = loadConfig();
  const databaseUrl = required(config, 'DATABASE_URL');
  const temporalAddress = required(config, 'TEMPORAL_ADDRESS');
  const maxOrders = intArg(args, '--max-orders');
  const concurrency = intArg(args, '--concurrency');
  const notesPerInvariant = intArg(args, '--notes');
  const callTimeoutMs = intArg(args, '--call-timeout-ms');

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
      workflows: { maxOrders, concurrency, callTimeoutMs },
      // End the snapshot before the slow Temporal part, so no locks are held meanwhile.
      afterSnapshotChecks: async () => {
        await snapshot.query('COMMIT');
      },
    });
    process.stdout.write(`${formatReport(results, { notesPerInvariant })}\n(checked in ${((Date.now() - startedAt) / 1000).toFixed(1)}s)\n`);
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
