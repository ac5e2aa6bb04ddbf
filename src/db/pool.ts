import pg from 'pg';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

/**
 * How long a caller waits for a pooled connection (queued behind others, or being connected)
 * before its query fails with node-postgres' "timeout exceeded when trying to connect", which the
 * API answers 503 DATABASE_UNAVAILABLE with Retry-After (src/db/unavailable.ts). Without it a
 * drained pool makes every request wait for as long as the pool stays drained.
 */
export const DEFAULT_POOL_TIMEOUT_MS = 5000;

export function createPool(connectionString: string, max = 20, connectionTimeoutMillis = DEFAULT_POOL_TIMEOUT_MS): Pool {
  const pool = new pg.Pool({ connectionString, max, connectionTimeoutMillis, application_name: 'order-actors' });
  // A client losing its server (Postgres stopped or restarted) must not crash the process: idle
  // ones report it to the pool, checked-out ones to themselves, and an 'error' event nobody
  // listens to is thrown. Their queries still fail, and callers see that.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

/** Runs `work` in one transaction on one client; rolls back on any error. */
export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
