import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import { executeStockCommand } from '../../src/application/stock';
import { commandMetadata } from '../../src/application/commandMetadata';
import { createStockActivities, type StockActivities } from '../../src/activities/stockActivities';
import type { Pool } from '../../src/db/pool';
import { stockDecider, stockStreamId, type ReservationStatus, type StockLevels, type StockState } from '../../src/domain/stock';
import { appendToStream, type TransactionalDb } from '../../src/eventstore';
import { createProduct, testPool, uniqueId } from '../support/harness';
import { expectRefused } from './failures';
import { readStream } from '../../src/application/eventStore';
import { foldRecorded } from '../../src/application/foldStream';
import { readAggregateState } from '../../src/application/handleStateStoredCommand';

/*
 * The saga's stock steps on real Postgres, called directly (what a worker would run). Every test
 * uses its own product, so parallel test files never share a stock stream.
 */

const BUYERS = 50;

let pool: Pool;
let stock: StockActivities;

beforeAll(async () => {
  pool = testPool(BUYERS + 5);
  // Open the connections up front, so the concurrent buyers race on the row and not on connecting.
  const clients = await Promise.all(Array.from({ length: BUYERS }, () => pool.connect()));
  clients.forEach((c) => c.release());
  stock = createStockActivities(pool);
});

afterAll(async () => {
  await pool.end();
});

async function productWithStock(quantity: number): Promise<string> {
  const productId = await createProduct(pool, 'Lamp', 4500);
  await executeStockCommand(pool, productId, { type: 'Restock', quantity }, commandMetadata(uniqueId('restock'), 'test'));
  return productId;
}

async function streamOf(productId: string) {
  return readStream(pool, stockStreamId(productId));
}

/** The stored state (the row's levels and the reservation rows), checked against the fold of the stream: they must never disagree. */
async function storedStock(productId: string): Promise<{ state: StockState; version: number }> {
  const stored = await readAggregateState<StockLevels>(pool, stockStreamId(productId));
  if (!stored) throw new Error(`no stock state for ${productId}`);
  const { rows } = await pool.query<{ reservation_id: string; quantity: number; status: ReservationStatus }>(
    'SELECT reservation_id, quantity, status FROM stock_reservations WHERE stream_id = $1',
    [stockStreamId(productId)],
  );
  const state = { ...stored.state, reservations: Object.fromEntries(rows.map((r) => [r.reservation_id, { quantity: r.quantity, status: r.status }])) };
  const events = await streamOf(productId);
  expect(stored.version).toBe(events.length);
  expect(state).toEqual(foldRecorded(stockDecider, events));
  return { state, version: stored.version };
}

test(`${BUYERS} concurrent buyers of 1 unit on 10 in stock: exactly 10 get one, nobody oversells`, async () => {
  const productId = await productWithStock(10);
  const reservationIds = Array.from({ length: BUYERS }, (_, i) => `buyer-${i}`);
  const outcomes = await Promise.allSettled(reservationIds.map((reservationId) => stock.reserveStock({ reservationId, productId, quantity: 1 })));

  const winners = reservationIds.filter((_, i) => outcomes[i]!.status === 'fulfilled');
  const refusals = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason] : []));
  expect(winners).toHaveLength(10);
  expect(refusals).toHaveLength(BUYERS - 10);
  for (const refusal of refusals) {
    expect(refusal).toBeInstanceOf(ApplicationFailure);
    expect({ type: refusal.type, nonRetryable: refusal.nonRetryable }).toEqual({ type: 'INSUFFICIENT_STOCK', nonRetryable: true });
  }

  const { state, version } = await storedStock(productId);
  expect({ onHand: state.onHand, reserved: state.reserved, version }).toEqual({ onHand: 10, reserved: 10, version: 11 });
  const events = await streamOf(productId);
  expect(events.map((e) => e.version)).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));
  expect(events.map((e) => e.type)).toEqual(['StockRestocked', ...Array<string>(10).fill('StockReserved')]);
  expect(events.every((e) => e.streamType === 'stock')).toBe(true);
  // The reservations in the stream are exactly the buyers that were told yes.
  expect(
    events
      .slice(1)
      .map((e) => (e.data as { reservationId: string }).reservationId)
      .sort(),
  ).toEqual([...winners].sort());
});

test('the same reservation retried concurrently is held once', async () => {
  const productId = await productWithStock(10);
  await Promise.all(Array.from({ length: 10 }, () => stock.reserveStock({ reservationId: 'r-1', productId, quantity: 4 })));
  const { state } = await storedStock(productId);
  expect(state.reserved).toBe(4);
  expect((await streamOf(productId)).map((e) => e.type)).toEqual(['StockRestocked', 'StockReserved']);
});

test('every step repeated with the same key acts once: one event each', async () => {
  const productId = await productWithStock(5);
  const sold = { reservationId: 'sold', productId };
  const dropped = { reservationId: 'dropped', productId };
  for (let i = 0; i < 2; i++) await stock.reserveStock({ ...sold, quantity: 3 });
  for (let i = 0; i < 2; i++) await stock.reserveStock({ ...dropped, quantity: 2 });
  // A retry of a reserve needs no stock: nothing is available now, and it is still answered.
  await stock.reserveStock({ ...sold, quantity: 3 });
  for (let i = 0; i < 2; i++) await stock.releaseReservation(dropped);
  for (let i = 0; i < 2; i++) await stock.commitReservation(sold);
  for (let i = 0; i < 2; i++) await stock.returnStock(sold);
  // Later retries of earlier steps find them done.
  await stock.commitReservation(sold);
  await stock.releaseReservation(dropped);

  expect((await streamOf(productId)).map((e) => [e.type, (e.data as { reservationId?: string }).reservationId ?? null])).toEqual([
    ['StockRestocked', null],
    ['StockReserved', 'sold'],
    ['StockReserved', 'dropped'],
    ['StockReleased', 'dropped'],
    ['StockCommitted', 'sold'],
    ['StockReturned', 'sold'],
  ]);
  const { state } = await storedStock(productId);
  expect({ onHand: state.onHand, reserved: state.reserved }).toEqual({ onHand: 5, reserved: 0 });
});

test('commit takes the units off hand; return puts them back', async () => {
  const productId = await productWithStock(8);
  const reservation = { reservationId: 'r-1', productId };
  await stock.reserveStock({ ...reservation, quantity: 3 });
  await stock.commitReservation(reservation);
  expect((await storedStock(productId)).state).toMatchObject({ onHand: 5, reserved: 0 });
  await stock.returnStock(reservation);
  expect((await storedStock(productId)).state).toMatchObject({ onHand: 8, reserved: 0 });
});

test('a released reservation is spent: commit and reserve again are refused, nothing is written', async () => {
  const productId = await productWithStock(5);
  const reservation = { reservationId: 'r-1', productId };
  await stock.reserveStock({ ...reservation, quantity: 2 });
  await stock.releaseReservation(reservation);
  await expectRefused(stock.commitReservation(reservation), 'RESERVATION_RELEASED');
  await expectRefused(stock.reserveStock({ ...reservation, quantity: 2 }), 'RESERVATION_RELEASED');
  expect((await streamOf(productId)).map((e) => e.type)).toEqual(['StockRestocked', 'StockReserved', 'StockReleased']);
  expect((await storedStock(productId)).state).toMatchObject({ onHand: 5, reserved: 0 });
});

test('steps out of order are refused as non-retryable conflicts', async () => {
  const productId = await productWithStock(5);
  const held = { reservationId: 'held', productId };
  const sold = { reservationId: 'sold', productId };
  await stock.reserveStock({ ...held, quantity: 1 });
  await stock.reserveStock({ ...sold, quantity: 1 });
  await stock.commitReservation(sold);

  await expectRefused(stock.returnStock(held), 'RESERVATION_NOT_COMMITTED');
  await expectRefused(stock.releaseReservation(sold), 'RESERVATION_COMMITTED');
  await expectRefused(stock.commitReservation({ reservationId: 'never', productId }), 'RESERVATION_NOT_FOUND');
  await expectRefused(stock.reserveStock({ ...held, quantity: 2 }), 'RESERVATION_MISMATCH');
  await stock.returnStock(sold);
  await expectRefused(stock.reserveStock({ ...sold, quantity: 1 }), 'RESERVATION_RETURNED');
  // Compensations of steps that never ran: a release leaves a 0-unit tombstone, a return nothing.
  await stock.releaseReservation({ reservationId: 'never', productId });
  await stock.returnStock({ reservationId: 'never', productId });
  expect((await streamOf(productId)).map((e) => e.type)).toEqual([
    'StockRestocked',
    'StockReserved',
    'StockReserved',
    'StockCommitted',
    'StockReturned',
    'StockReleased',
  ]);
});

test('a reserve that arrives after its compensation (it outlived its timeout) holds nothing', async () => {
  const productId = await productWithStock(5);
  const late = { reservationId: 'late', productId };
  await stock.releaseReservation(late);
  await expectRefused(stock.reserveStock({ ...late, quantity: 2 }), 'RESERVATION_RELEASED');
  expect((await storedStock(productId)).state).toMatchObject({ onHand: 5, reserved: 0 });
});

test('giveBackReservation gives any reservation back and says how: released, returned, voided; repeated, it acts once', async () => {
  const productId = await productWithStock(6);
  const held = { reservationId: 'held', productId };
  const sold = { reservationId: 'sold', productId };
  const never = { reservationId: 'never', productId };
  await stock.reserveStock({ ...held, quantity: 1 });
  await stock.reserveStock({ ...sold, quantity: 2 });
  await stock.commitReservation(sold);
  for (let i = 0; i < 2; i++) {
    expect(await stock.giveBackReservation(held)).toBe('released');
    expect(await stock.giveBackReservation(sold)).toBe('returned');
    expect(await stock.giveBackReservation(never)).toBe('voided');
  }
  await expectRefused(stock.reserveStock({ ...never, quantity: 1 }), 'RESERVATION_RELEASED');
  expect((await streamOf(productId)).map((e) => [e.type, (e.data as { reservationId?: string }).reservationId ?? null])).toEqual([
    ['StockRestocked', null],
    ['StockReserved', 'held'],
    ['StockReserved', 'sold'],
    ['StockCommitted', 'sold'],
    ['StockReleased', 'held'],
    ['StockReturned', 'sold'],
    ['StockReleased', 'never'],
  ]);
  expect((await storedStock(productId)).state).toMatchObject({ onHand: 6, reserved: 0 });
});

test('a state row an older worker wrote with its reservations in it: the next command moves them to rows, tombstones included', async () => {
  const productId = await createProduct(pool, 'Jug', 800);
  const streamId = stockStreamId(productId);
  const history = [
    { type: 'StockRestocked', data: { quantity: 5 } },
    { type: 'StockReserved', data: { reservationId: 'held', quantity: 2 } },
    { type: 'StockReleased', data: { reservationId: 'late', quantity: 0 } },
  ];
  await appendToStream(
    pool,
    streamId,
    'stock',
    'no_stream',
    history.map((e) => ({ ...e, eventId: randomUUID(), occurredAt: new Date() })),
  );
  const legacy = { onHand: 5, reserved: 2, reservations: { held: { quantity: 2, status: 'reserved' }, late: { quantity: 0, status: 'released' } } };
  await pool.query(`INSERT INTO aggregate_states (stream_id, stream_type, state, version) VALUES ($1, 'stock', $2, 3)`, [streamId, JSON.stringify(legacy)]);

  await expectRefused(stock.reserveStock({ reservationId: 'late', productId, quantity: 1 }), 'RESERVATION_RELEASED');
  await stock.commitReservation({ reservationId: 'held', productId });
  expect((await readAggregateState(pool, streamId))!.state).toEqual({ onHand: 3, reserved: 0 });
  expect((await storedStock(productId)).state.reservations).toEqual({ held: { quantity: 2, status: 'committed' }, late: { quantity: 0, status: 'released' } });
});

test('a catalog product never restocked has no stock: INSUFFICIENT_STOCK, and nothing is stored', async () => {
  const productId = await createProduct(pool, 'Vase', 900);
  await expectRefused(stock.reserveStock({ reservationId: 'r-1', productId, quantity: 1 }), 'INSUFFICIENT_STOCK');
  expect(await readAggregateState(pool, stockStreamId(productId))).toBeNull();
  expect(await streamOf(productId)).toEqual([]);
});

test('a product the catalog does not know is refused with PRODUCT_NOT_FOUND', async () => {
  const productId = uniqueId('no-such-product');
  await expectRefused(stock.reserveStock({ reservationId: 'r-1', productId, quantity: 1 }), 'PRODUCT_NOT_FOUND');
  expect(await readAggregateState(pool, stockStreamId(productId))).toBeNull();
});

test('an invalid quantity is refused with INVALID_QUANTITY', async () => {
  const productId = await productWithStock(5);
  await expectRefused(stock.reserveStock({ reservationId: 'r-1', productId, quantity: 0 }), 'INVALID_QUANTITY');
});

test('a technical failure is thrown as it is, for Temporal to retry', async () => {
  const outage = new Error('connection terminated unexpectedly');
  const broken: TransactionalDb = {
    query: () => Promise.reject(outage),
    connect: () => Promise.reject(outage),
  };
  const activities = createStockActivities(broken);
  await expect(activities.reserveStock({ reservationId: 'r-1', productId: 'p-1', quantity: 1 })).rejects.toBe(outage);
  await expect(activities.releaseReservation({ reservationId: 'r-1', productId: 'p-1' })).rejects.toBe(outage);
  await expect(activities.commitReservation({ reservationId: 'r-1', productId: 'p-1' })).rejects.toBe(outage);
  await expect(activities.returnStock({ reservationId: 'r-1', productId: 'p-1' })).rejects.toBe(outage);
  await expect(activities.giveBackReservation({ reservationId: 'r-1', productId: 'p-1' })).rejects.toBe(outage);
});
