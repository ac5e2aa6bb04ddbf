import { createPool, DEFAULT_POOL_TIMEOUT_MS } from '../../src/db/pool';
import { isDatabaseUnavailable } from '../../src/db/unavailable';
import { ReadModelChanges } from '../../src/db/readModelChanges';
import { apiFor, expectProblem, testClient, testEnv } from '../support/harness';
import { startApiWith } from '../api/appWith';

/*
 * A pool whose connections are all busy makes the next checkout fail at its deadline
 * (`connectionTimeoutMillis`), which the API answers 503 DATABASE_UNAVAILABLE with Retry-After,
 * instead of queueing the request for as long as the pool stays busy.
 */

test('every pool has a checkout deadline, and missing it is an outage the API maps, not an error of ours', async () => {
  const pool = createPool(testEnv.databaseUrl, 1);
  try {
    expect(pool.options.connectionTimeoutMillis).toBe(DEFAULT_POOL_TIMEOUT_MS);
  } finally {
    await pool.end();
  }
  const busy = createPool(testEnv.databaseUrl, 1, 3000);
  const held = await busy.connect();
  try {
    const err = await busy.query('SELECT 1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(isDatabaseUnavailable(err)).toBe(true);
  } finally {
    held.release();
    await busy.end();
  }
});

test('a drained pool answers 503 DATABASE_UNAVAILABLE with Retry-After over HTTP, then serves again once a connection is free', async () => {
  const client = await testClient();
  const pool = createPool(testEnv.databaseUrl, 1, 3000);
  const changes = ReadModelChanges.forPool(pool);
  const api = await startApiWith({ db: pool, client, readModelChanges: changes });
  let held: { release(): void } | undefined = await pool.connect();
  try {
    const catalog = await apiFor(api.baseUrl, 'anonymous').GET('/products');
    expectProblem(catalog, 503, 'DATABASE_UNAVAILABLE');
    expect(Number(catalog.response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Readiness says so too, instead of hanging.
    const ready = await apiFor(api.baseUrl, 'anonymous').GET('/readyz');
    expect(ready.response.status).toBe(503);
    expect(ready.error).toMatchObject({ checks: { postgres: 'unreachable' } });

    held.release();
    held = undefined;
    expect((await apiFor(api.baseUrl, 'anonymous').GET('/products')).response.status).toBe(200);
  } finally {
    held?.release();
    await api.close();
    await changes.close();
    await client.connection.close();
    await pool.end();
  }
});
