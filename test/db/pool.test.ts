import { testPool } from '../support/harness';

/*
 * Chaos found the worker dying when Postgres stopped: a checked-out client whose session the
 * server ended emitted 'error' with no listener, which Node throws. Here the session is ended by
 * pg_terminate_backend (57P01, the same error a shutdown sends) while the client is checked out.
 */
test('a checked-out client whose session the server ends fails its next query instead of crashing the process', async () => {
  const pool = testPool(2);
  const admin = testPool(1);
  try {
    const client = await pool.connect();
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    await admin.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
    await new Promise((resolve) => setTimeout(resolve, 300)); // the 'error' event arrives meanwhile
    await expect(client.query('SELECT 1')).rejects.toThrow();
    client.release(true);
    // The pool carries on with a fresh connection.
    expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one).toBe(1);
  } finally {
    await pool.end();
    await admin.end();
  }
});
