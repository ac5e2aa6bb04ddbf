import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Pool } from '../../src/db/pool';
import { testPool } from '../support/harness';

/*
 * Migration 004 on rows in their old shape, in a schema of its own inside a transaction that is
 * rolled back: the run's real tables (already migrated) are never touched.
 */

const MIGRATION = readFileSync(path.join(__dirname, '../../src/db/migrations/004_keyed_aggregate_entries.sql'), 'utf8');

let pool: Pool;

beforeAll(() => {
  pool = testPool(1);
});

afterAll(async () => {
  await pool.end();
});

test('004 moves every stock reservation out of its state row into rows, and leaves the counters and other aggregates as they were', async () => {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('CREATE SCHEMA migration_004');
    await client.query('SET LOCAL search_path = migration_004');
    for (const table of ['streams', 'events', 'aggregate_states']) await client.query(`CREATE TABLE ${table} (LIKE public.${table} INCLUDING ALL)`);
    const rows: Array<[string, string, unknown]> = [
      [
        'stock-a',
        'stock',
        {
          onHand: 7,
          reserved: 2,
          reservations: {
            held: { quantity: 2, status: 'reserved' },
            sold: { quantity: 3, status: 'committed' },
            late: { quantity: 0, status: 'released' },
            constructor: { quantity: 1, status: 'returned' },
          },
        },
      ],
      ['stock-b', 'stock', { onHand: 4, reserved: 0, reservations: {} }],
      ['counter-c', 'counter', { total: 1, reservations: { x: 1 } }],
    ];
    for (const [streamId, type, state] of rows) {
      await client.query('INSERT INTO streams (stream_id, stream_type, version) VALUES ($1, $2, 3)', [streamId, type]);
      await client.query('INSERT INTO aggregate_states (stream_id, stream_type, state, version) VALUES ($1, $2, $3, 3)', [
        streamId,
        type,
        JSON.stringify(state),
      ]);
    }

    await client.query(MIGRATION);

    const states = await client.query('SELECT stream_id, state, version FROM aggregate_states ORDER BY stream_id');
    expect(states.rows).toEqual([
      { stream_id: 'counter-c', state: { total: 1, reservations: { x: 1 } }, version: '3' },
      { stream_id: 'stock-a', state: { onHand: 7, reserved: 2 }, version: '3' },
      { stream_id: 'stock-b', state: { onHand: 4, reserved: 0 }, version: '3' },
    ]);
    const reservations = await client.query('SELECT stream_id, reservation_id, quantity, status FROM stock_reservations ORDER BY reservation_id');
    expect(reservations.rows).toEqual([
      { stream_id: 'stock-a', reservation_id: 'constructor', quantity: 1, status: 'returned' },
      { stream_id: 'stock-a', reservation_id: 'held', quantity: 2, status: 'reserved' },
      { stream_id: 'stock-a', reservation_id: 'late', quantity: 0, status: 'released' },
      { stream_id: 'stock-a', reservation_id: 'sold', quantity: 3, status: 'committed' },
    ]);
  } finally {
    await client.query('ROLLBACK');
    client.release();
  }
});
