import { inTransaction, withClient, type Pool, type PoolClient } from '../../src/db/pool';
import { testPool } from '../support/harness';

/*
 * withClient hands a connection back to the pool only when it is sound: rolled back after a failed
 * unit of work, destroyed when its server went away or it could not roll back. Observed on the
 * pool itself (how many connections it keeps, which backend serves next).
 */

let pool: Pool;
let admin: Pool;

beforeEach(() => {
  pool = testPool(1);
  admin = testPool(1);
});

afterEach(async () => {
  await pool.end();
  await admin.end();
});

const backendPid = async (client: { query: PoolClient['query'] }) => (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;

test('a connection whose session the server ends under the work is destroyed, and the next checkout gets a new one', async () => {
  let killed = 0;
  const failure = withClient(pool, async (client) => {
    killed = await backendPid(client);
    await admin.query('SELECT pg_terminate_backend($1)', [killed]);
    await client.query('SELECT 1');
  });
  await expect(failure).rejects.toThrow();
  expect(pool.totalCount).toBe(0);
  const next = await withClient(pool, backendPid);
  expect(next).not.toBe(killed);
});

test('a connection a unit of work failed on is rolled back and reused, not destroyed', async () => {
  await pool.query('CREATE TEMP TABLE IF NOT EXISTS with_client_probe (n int)');
  let first = 0;
  const failure = withClient(pool, async (client) => {
    first = await backendPid(client);
    await client.query('BEGIN');
    await client.query('INSERT INTO with_client_probe VALUES (1)');
    throw new Error('the work failed');
  });
  await expect(failure).rejects.toThrow('the work failed');
  expect(pool.totalCount).toBe(1);
  // The same session (the temp table is its own): outside any transaction, without the insert.
  const after = await withClient(pool, async (client) => ({
    pid: await backendPid(client),
    rows: (await client.query('SELECT n FROM with_client_probe')).rowCount,
    inTransaction: (await client.query<{ xid: string | null }>('SELECT pg_current_xact_id_if_assigned()::text AS xid')).rows[0]!.xid,
  }));
  expect(after).toEqual({ pid: first, rows: 0, inTransaction: null });
});

test('a connection that cannot roll back is destroyed, not handed to the next caller mid-transaction', async () => {
  // A connection whose ROLLBACK fails (here by a stand-in around a real one): its state is unknown.
  const cannotRollBack = {
    async connect() {
      const real = await pool.connect();
      return {
        query: (text: string) => (text === 'ROLLBACK' ? Promise.reject(new Error('connection lost')) : real.query(text)),
        release: (destroy?: Error | boolean) => real.release(destroy),
      };
    },
  };
  await expect(
    inTransaction(cannotRollBack, async (client) => {
      await client.query('SELECT 1');
      throw new Error('the work failed');
    }),
  ).rejects.toThrow('the work failed');
  expect(pool.totalCount).toBe(0);
});

test('inTransaction commits what the work did when it returns, and keeps nothing of it when it throws', async () => {
  const table = `in_transaction_probe_${process.pid}`;
  await pool.query(`CREATE TABLE IF NOT EXISTS ${table} (n int)`);
  try {
    await expect(inTransaction(pool, async (tx) => (await tx.query(`INSERT INTO ${table} VALUES (1)`)).rowCount)).resolves.toBe(1);
    await expect(
      inTransaction(pool, async (tx) => {
        await tx.query(`INSERT INTO ${table} VALUES (2)`);
        throw new Error('the work failed');
      }),
    ).rejects.toThrow('the work failed');
    expect((await admin.query<{ n: number }>(`SELECT n FROM ${table}`)).rows).toEqual([{ n: 1 }]);
  } finally {
    await pool.query(`DROP TABLE ${table}`);
  }
});
