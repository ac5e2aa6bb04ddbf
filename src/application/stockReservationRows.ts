import {
  findReservation,
  type Reservation,
  type ReservationStatus,
  type StockCommand,
  type StockEvent,
  type StockLevels,
  type StockState,
} from '../domain/stock';
import type { Queryable } from '../eventstore';
import { type KeyedEntries } from './keyedEntries';

/** A stock's state row as stored: its levels, plus the whole map in a row written before migration 004. */
export type StoredStock = StockLevels & { reservations?: Record<string, Reservation> };

async function saveReservations(db: Queryable, streamId: string, reservations: ReadonlyMap<string, Reservation>): Promise<void> {
  if (reservations.size === 0) return;
  const entries = [...reservations];
  await db.query(
    `INSERT INTO stock_reservations (stream_id, reservation_id, quantity, status)
       SELECT $1::text, * FROM unnest($2::text[], $3::integer[], $4::text[])
     ON CONFLICT (stream_id, reservation_id) DO UPDATE SET quantity = EXCLUDED.quantity, status = EXCLUDED.status`,
    [streamId, entries.map(([id]) => id), entries.map(([, r]) => r.quantity), entries.map(([, r]) => r.status)],
  );
}

/**
 * Reservations as rows of `stock_reservations`: a command loads and writes only its own, so it
 * costs the same on a product with five thousand past reservations as on a new one.
 */
export const stockReservationRows: KeyedEntries<StockCommand, StockState, StockEvent, Reservation> = {
  keysOf: (command) => (command.type === 'Restock' ? [] : [command.reservationId]),
  keyOf: (event) => (event.type === 'StockRestocked' ? undefined : event.data.reservationId),
  rootOf: ({ onHand, reserved }): StockLevels => ({ onHand, reserved }),
  entryOf: findReservation,
  compose(root, reservations) {
    const { onHand, reserved } = root as StockLevels;
    return { onHand, reserved, reservations: Object.fromEntries(reservations) };
  },
  async load(db, streamId, root, keys) {
    // A worker older than migration 004 keeps the map in the row (a product it created during the
    // rolling deploy): moved to rows here, under the row lock, before the row is written without it.
    const inRow = (root as StoredStock).reservations;
    if (inRow) await saveReservations(db, streamId, new Map(Object.entries(inRow)));
    if (keys.length === 0) return new Map();
    const { rows } = await db.query<{ reservation_id: string; quantity: number; status: ReservationStatus }>(
      'SELECT reservation_id, quantity, status FROM stock_reservations WHERE stream_id = $1 AND reservation_id = ANY($2::text[])',
      [streamId, keys],
    );
    return new Map(rows.map((r) => [r.reservation_id, { quantity: r.quantity, status: r.status }]));
  },
  save: saveReservations,
};
