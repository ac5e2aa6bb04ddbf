import { EventEmitter } from 'node:events';
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

/** A connection checked out of a pool: a pg PoolClient is one, and so is a test's stand-in. */
export interface CheckedOutClient {
  query(text: string): Promise<unknown>;
  /** `true` destroys the connection instead of returning it to the pool. */
  release(destroy?: Error | boolean): void;
}

/** What hands out connections: a pg Pool is one (pg's overloaded `connect` needs the overloads below). */
export interface ClientSource<C extends CheckedOutClient> {
  connect(): Promise<C>;
}

/**
 * Runs `work` on one connection checked out of `pool`. A connection goes back to the pool only
 * when it is sound: after a failed `work` whatever transaction it left open is rolled back, and a
 * connection that reported an error (its server went away) or could not roll back is destroyed.
 */
export function withClient<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T>;
export function withClient<C extends CheckedOutClient, T>(pool: ClientSource<C>, work: (client: C) => Promise<T>): Promise<T>;
export async function withClient<C extends CheckedOutClient, T>(pool: ClientSource<C>, work: (client: C) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  const onError = () => {
    broken = true;
  };
  // A pg client reports a lost server as 'error'; stand-ins that are no emitters have nothing to report.
  const events = client instanceof EventEmitter ? client : undefined;
  events?.on('error', onError);
  try {
    return await work(client);
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {
      broken = true;
    });
    throw err;
  } finally {
    events?.off('error', onError);
    client.release(broken);
  }
}

/** Runs `work` in one transaction on one client (see `withClient`): committed when it returns, rolled back when it throws. */
export function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T>;
export function inTransaction<C extends CheckedOutClient, T>(pool: ClientSource<C>, work: (client: C) => Promise<T>): Promise<T>;
export function inTransaction<C extends CheckedOutClient, T>(pool: ClientSource<C>, work: (client: C) => Promise<T>): Promise<T> {
  return withClient(pool, async (client: C) => {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  });
}
