import { randomUUID } from 'node:crypto';
import { executeAccountCommand } from '../../src/application/accounts';
import { commandMetadata } from '../../src/application/commandMetadata';
import { executeStockCommand } from '../../src/application/stock';
import type { Pool } from '../../src/db/pool';
import { ACCOUNT_STREAM_TYPE, accountStreamId, type AccountCommand, type AccountEvent } from '../../src/domain/account';
import { clientCommandId, internalCommandId } from '../../src/domain/commandIds';
import { STOCK_STREAM_TYPE, stockStreamId, type StockCommand, type StockEvent, type StockState } from '../../src/domain/stock';
import { appendToStream, type Queryable, type TransactionalDb } from '../../src/eventstore';
import { checkMoney, checkStock } from '../../src/invariants';
import { testPool, uniqueId } from '../support/harness';
import { readAggregateState } from '../../src/application/handleStateStoredCommand';

/*
 * The cost of one stock or account command does not depend on the aggregate's age: on a product
 * with 5,000 past reservations and a customer with 5,000 past payments it reads and writes what it
 * does on new ones. Cost is counted, not timed: rows the database returned and parameter bytes
 * sent (what the client sees), and the tuples Postgres itself read and wrote inside the command's
 * transaction (pg_stat_xact_user_tables, with sequential scans off so that a query the indexes
 * cannot bound shows up as tuples fetched rather than hiding in a scan of a small test table).
 */

const AGE = 5_000;

interface Cost {
  rowsReturned: number;
  bytesSent: number;
  tuplesRead: number;
  tuplesWritten: number;
}

const noCost = (): Cost => ({ rowsReturned: 0, bytesSent: 0, tuplesRead: 0, tuplesWritten: 0 });

/** Tuples this backend has read and written so far (its counts not yet flushed to the shared statistics). */
async function tuplesSoFar(db: Queryable): Promise<{ read: number; written: number }> {
  const { rows } = await db.query<{ read: string; written: string }>(
    `SELECT COALESCE(sum(seq_tup_read + COALESCE(idx_tup_fetch, 0)), 0) AS read,
            COALESCE(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) AS written
       FROM pg_stat_xact_user_tables`,
  );
  return { read: Number(rows[0]!.read), written: Number(rows[0]!.written) };
}

/** A database that counts what goes through it. */
function metered(pool: Pool) {
  let cost = noCost();
  const meter = (target: Queryable): Queryable => {
    let atBegin = { read: 0, written: 0 };
    return {
      query: (async (textOrConfig: string | { text: string; values?: unknown[] }, values?: unknown[]) => {
        const text = typeof textOrConfig === 'string' ? textOrConfig : textOrConfig.text;
        const params = typeof textOrConfig === 'string' ? values : textOrConfig.values;
        if (/^(COMMIT|ROLLBACK)/.test(text)) {
          // Counts are flushed only between transactions: the difference is this transaction's.
          const atEnd = await tuplesSoFar(target);
          cost.tuplesRead += atEnd.read - atBegin.read;
          cost.tuplesWritten += atEnd.written - atBegin.written;
        }
        cost.bytesSent += Buffer.byteLength(JSON.stringify(params ?? []));
        const result = await (target.query as (t: unknown, v?: unknown[]) => Promise<{ rows: unknown[] }>)(textOrConfig, values);
        cost.rowsReturned += result.rows.length;
        if (/^BEGIN/.test(text)) {
          await target.query('SET LOCAL enable_seqscan = off');
          atBegin = await tuplesSoFar(target);
        }
        return result;
      }) as Queryable['query'],
    };
  };
  const db: TransactionalDb = {
    ...meter(pool),
    async connect() {
      const client = await pool.connect();
      // Nothing pending from earlier work on this connection: no flush can happen mid-command.
      await client.query('SELECT pg_stat_force_next_flush()');
      return { ...meter(client), release: (destroy?: Error | boolean) => client.release(destroy) };
    },
  };
  return {
    db,
    /** What `run` cost. */
    async costOf(run: (db: TransactionalDb) => Promise<unknown>): Promise<Cost> {
      cost = noCost();
      await run(db);
      return cost;
    },
  };
}

let pool: Pool;

beforeAll(async () => {
  pool = testPool(5);
});

afterAll(async () => {
  await pool.end();
});

/** Appends a history written before this code, a thousand events at a time. */
async function appendInChunks(streamId: string, streamType: string, history: ReadonlyArray<{ type: string; data: unknown }>): Promise<void> {
  for (let from = 0; from < history.length; from += 1000) {
    const chunk = history.slice(from, from + 1000).map((e) => ({ eventId: randomUUID(), type: e.type, data: e.data, occurredAt: new Date() }));
    await appendToStream(pool, streamId, streamType, from === 0 ? 'no_stream' : from, chunk);
  }
}

/** Parameter bytes differ with the lengths of ids and version numbers, never with the age. */
const BYTES_SLACK = 64;
/**
 * Tuples the planner's choice can add: beside a whole suite that keeps writing, the statistics
 * change and a plan may read more index entries (seen: 24 instead of 13 alone, and about 160 for
 * old and new aggregates alike in a full run). A command whose cost grew with the age reads more
 * than the age itself (1,672 tuples at an age of 1,000 before the keyed rows), so bounds a tenth
 * of the age and below still tell the two apart.
 */
const TUPLES_SLACK = AGE / 25;
const MOST_TUPLES_READ = AGE / 10;

function expectSameCost(old: Cost, young: Cost): void {
  expect({ rowsReturned: old.rowsReturned, tuplesWritten: old.tuplesWritten }).toEqual({
    rowsReturned: young.rowsReturned,
    tuplesWritten: young.tuplesWritten,
  });
  expect(Math.abs(old.tuplesRead - young.tuplesRead)).toBeLessThanOrEqual(TUPLES_SLACK);
  expect(Math.abs(old.bytesSent - young.bytesSent)).toBeLessThanOrEqual(BYTES_SLACK);
}

describe('stock', () => {
  const stock = (db: TransactionalDb, productId: string, command: StockCommand, commandId = internalCommandId('test', randomUUID())) =>
    executeStockCommand(db, productId, command, commandMetadata(commandId, 'test'), { skipIfCommandStored: commandId.startsWith('client:') });

  /**
   * A product that has seen `reservations` reservations (a third released, a third sold), stored
   * as a worker before migration 004 left it: its stream, and its state row with the whole map.
   * Its first command moves the map to rows, as it would after the deploy.
   */
  async function productAged(reservations: number): Promise<string> {
    const productId = uniqueId('aged');
    const history: StockEvent[] = [{ type: 'StockRestocked', data: { quantity: reservations + 10 } }];
    const state: StockState = { onHand: reservations + 10, reserved: 0, reservations: {} };
    for (let i = 0; i < reservations; i++) {
      const reservationId = `past-${i}`;
      const status = (['reserved', 'released', 'committed'] as const)[i % 3]!;
      history.push({ type: 'StockReserved', data: { reservationId, quantity: 1 } });
      if (status === 'released') history.push({ type: 'StockReleased', data: { reservationId, quantity: 1 } });
      if (status === 'committed') history.push({ type: 'StockCommitted', data: { reservationId, quantity: 1 } });
      state.reservations[reservationId] = { quantity: 1, status };
      if (status === 'reserved') state.reserved += 1;
      if (status === 'committed') state.onHand -= 1;
    }
    await appendInChunks(stockStreamId(productId), STOCK_STREAM_TYPE, history);
    await pool.query(`INSERT INTO aggregate_states (stream_id, stream_type, state, version) VALUES ($1, $2, $3, $4)`, [
      stockStreamId(productId),
      STOCK_STREAM_TYPE,
      JSON.stringify(state),
      history.length,
    ]);
    await stock(pool, productId, { type: 'Restock', quantity: 1 });
    const row = await readAggregateState<object>(pool, stockStreamId(productId));
    expect(Object.keys(row!.state).sort()).toEqual(['onHand', 'reserved']);
    return productId;
  }

  /** One checkout's worth of commands, each measured on its own. */
  async function costsOn(productId: string): Promise<Record<string, Cost>> {
    const { costOf } = metered(pool);
    const key = clientCommandId(uniqueId('restock'));
    return {
      restock: await costOf((db) => stock(db, productId, { type: 'Restock', quantity: 2 }, key)),
      repeatedRestock: await costOf((db) => stock(db, productId, { type: 'Restock', quantity: 2 }, key)),
      reserve: await costOf((db) => stock(db, productId, { type: 'Reserve', reservationId: 'now', quantity: 2 })),
      commit: await costOf((db) => stock(db, productId, { type: 'Commit', reservationId: 'now' })),
      giveBack: await costOf((db) => stock(db, productId, { type: 'GiveBack', reservationId: 'now' })),
      tombstone: await costOf((db) => stock(db, productId, { type: 'GiveBack', reservationId: 'never' })),
      lateReserve: await costOf((db) => stock(db, productId, { type: 'Reserve', reservationId: 'never', quantity: 1 })),
    };
  }

  test(`a command on a product with ${AGE} past reservations reads and writes what it does on a new one`, async () => {
    const old = await productAged(AGE);
    const young = await productAged(1);
    const [oldCosts, youngCosts] = [await costsOn(old), await costsOn(young)];
    for (const step of Object.keys(oldCosts)) {
      expectSameCost(oldCosts[step]!, youngCosts[step]!);
      expect(oldCosts[step]!.tuplesRead).toBeLessThan(MOST_TUPLES_READ);
      expect(oldCosts[step]!.bytesSent).toBeLessThan(2_000);
    }
    // …and every guarantee still holds over the whole of it.
    expect(await checkStock(pool, { streamIds: [`stock-${old}`, `stock-${young}`] })).toMatchObject({ status: 'PASS', checked: 2 });
  }, 180_000);
});

describe('accounts', () => {
  const account = (db: TransactionalDb, command: AccountCommand, commandId = internalCommandId('test', randomUUID())) =>
    executeAccountCommand(db, command, commandMetadata(commandId, 'test'), { skipIfCommandStored: commandId.startsWith('client:') });

  /**
   * A customer with `payments` past payments, written straight to the stream as an account from
   * before the snapshots would be; its first command builds the snapshot.
   */
  async function customerAged(payments: number): Promise<string> {
    const customerId = uniqueId('aged');
    const history: AccountEvent[] = [
      { type: 'AccountOpened', data: { customerId } },
      { type: 'FundsDeposited', data: { amountCents: 2 * payments + 10_000 } },
    ];
    for (let i = 0; i < payments; i++) {
      history.push({ type: 'AccountDebited', data: { paymentId: `past-${i}`, orderId: `o-${i}`, amountCents: 2 } });
      if (i % 2 === 1) history.push({ type: 'PaymentRefunded', data: { paymentId: `past-${i}`, orderId: `o-${i}`, amountCents: 2 } });
    }
    await appendInChunks(accountStreamId(customerId), ACCOUNT_STREAM_TYPE, history);
    await account(pool, { type: 'Deposit', customerId, amountCents: 1 });
    return customerId;
  }

  async function costsOn(customerId: string): Promise<Record<string, Cost>> {
    const { costOf } = metered(pool);
    const key = clientCommandId(uniqueId('deposit'));
    const debit = { type: 'Debit', customerId, paymentId: 'now', orderId: 'o-now', amountCents: 300 } as const;
    return {
      deposit: await costOf((db) => account(db, { type: 'Deposit', customerId, amountCents: 500 }, key)),
      repeatedDeposit: await costOf((db) => account(db, { type: 'Deposit', customerId, amountCents: 500 }, key)),
      debit: await costOf((db) => account(db, debit)),
      repeatedDebit: await costOf((db) => account(db, debit)),
      refund: await costOf((db) => account(db, { type: 'Refund', customerId, paymentId: 'now' })),
      void: await costOf((db) => account(db, { type: 'Refund', customerId, paymentId: 'never' })),
      lateDebit: await costOf((db) => account(db, { ...debit, paymentId: 'never' })),
      withdraw: await costOf((db) => account(db, { type: 'Withdraw', customerId, amountCents: 100 })),
    };
  }

  test(`a command on an account with ${AGE} past payments reads and writes what it does on a new one`, async () => {
    const old = await customerAged(AGE);
    const young = await customerAged(1);
    const [oldCosts, youngCosts] = [await costsOn(old), await costsOn(young)];
    for (const step of Object.keys(oldCosts)) {
      expectSameCost(oldCosts[step]!, youngCosts[step]!);
      expect(oldCosts[step]!.tuplesRead).toBeLessThan(MOST_TUPLES_READ);
      expect(oldCosts[step]!.bytesSent).toBeLessThan(2_000);
    }
    // The answers are still right: 10,000 + 2 × 5,000 deposited, 2 × 2,500 kept, then this run's steps.
    const after = await account(pool, { type: 'Deposit', customerId: old, amountCents: 1 });
    expect(after.state.balanceCents).toBe(2 * AGE + 10_000 - 2 * (AGE / 2) + 1 + 500 - 100 + 1);
    // (Invariant 2 also reconciles the payments with orders, which these made-up payments have none of.)
    const money = await checkMoney(pool, { customerIds: [old, young] });
    expect(money.counts.accounts).toBe(2);
    expect(money.violations.filter((v) => v.includes('snapshot') || v.includes('below zero'))).toEqual([]);
  }, 180_000);
});
