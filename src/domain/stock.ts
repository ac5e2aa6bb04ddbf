import { DomainError, type Decider } from './decider';
import { streamNames } from './streamNames';

/*
 * Stock of one product: units on hand, and reservations that hold some of them for a checkout
 * until they are committed (sold) or released. Every step is idempotent on its reservation id, and
 * a reservation id is used once: after it is released it can never hold stock again, so a late
 * retry of a reserve cannot resurrect a reservation its saga already gave back. That holds even
 * when the release comes first (a reserve that outlived its timeout while the saga compensated):
 * releasing an unknown reservation records it as released with 0 units, a tombstone.
 *
 * GiveBack is the compensation's command: it gives a reservation's units back whatever became of
 * it (released if held, returned if committed, tombstoned if unknown, nothing if already back), so
 * a saga that lost track of a step (a commit that timed out but happened) still undoes it right.
 */

export type ReservationStatus = 'reserved' | 'released' | 'committed' | 'returned';

export interface Reservation {
  quantity: number;
  status: ReservationStatus;
}

/**
 * `decide` reads the counters and the entry of its command's reservation id, `evolve` the counters
 * and the entry its event names, nothing else: a host may load only those entries
 * (src/activities/stockReservationRows.ts).
 */
export interface StockState {
  onHand: number;
  /** Units held by reservations in status 'reserved'. */
  reserved: number;
  reservations: Record<string, Reservation>;
}

/** The counters of a stock, without its reservations: what its state row stores. */
export type StockLevels = Omit<StockState, 'reservations'>;

export type StockCommand =
  | { type: 'Restock'; quantity: number }
  | { type: 'Reserve'; reservationId: string; quantity: number }
  | { type: 'Release'; reservationId: string }
  | { type: 'Commit'; reservationId: string }
  | { type: 'Return'; reservationId: string }
  | { type: 'GiveBack'; reservationId: string };

export type StockEvent =
  | { type: 'StockRestocked'; data: { quantity: number } }
  | { type: 'StockReserved'; data: { reservationId: string; quantity: number } }
  | { type: 'StockReleased'; data: { reservationId: string; quantity: number } }
  | { type: 'StockCommitted'; data: { reservationId: string; quantity: number } }
  | { type: 'StockReturned'; data: { reservationId: string; quantity: number } };

/** Per command; keeps every sum of quantities far inside the safe integer range. */
export const MAX_STOCK_QUANTITY = 1_000_000_000;

export const initialStockState: StockState = { onHand: 0, reserved: 0, reservations: {} };

export const availableStock = (state: StockState): number => state.onHand - state.reserved;

function requireQuantity(quantity: number): void {
  if (!Number.isInteger(quantity) || quantity < 1 || quantity > MAX_STOCK_QUANTITY) {
    throw new DomainError('INVALID_QUANTITY', `A quantity is a whole number from 1 to ${MAX_STOCK_QUANTITY}.`);
  }
}

function requireReservationId(reservationId: string): void {
  if (typeof reservationId !== 'string' || reservationId === '') {
    throw new DomainError('INVALID_RESERVATION_ID', 'A reservation needs an id.');
  }
}

/** Own keys only: an id such as "constructor" must not find Object.prototype's member. */
export function findReservation(state: StockState, reservationId: string): Reservation | undefined {
  return Object.hasOwn(state.reservations, reservationId) ? state.reservations[reservationId] : undefined;
}

/** What a given-back reservation came to: its units released or returned, or voided (it never held any). */
export type GiveBackOutcome = 'released' | 'returned' | 'voided';

/** The outcome of a reservation that is given back; undefined while it still holds or took units. */
export function givenBackAs(reservation: Reservation | undefined): GiveBackOutcome | undefined {
  if (reservation?.status === 'returned') return 'returned';
  if (reservation?.status === 'released') return reservation.quantity === 0 ? 'voided' : 'released';
  return undefined;
}

/** The events that give a reservation's units back from whatever state it is in; none when they are back already. */
function giveBack(reservationId: string, reservation: Reservation | undefined): StockEvent[] {
  switch (reservation?.status) {
    case undefined:
      return [{ type: 'StockReleased', data: { reservationId, quantity: 0 } }];
    case 'reserved':
      return [{ type: 'StockReleased', data: { reservationId, quantity: reservation.quantity } }];
    case 'committed':
      return [{ type: 'StockReturned', data: { reservationId, quantity: reservation.quantity } }];
    case 'released':
    case 'returned':
      return [];
  }
}

export function decideStock(command: StockCommand, state: StockState): StockEvent[] {
  if (command.type === 'Restock') {
    requireQuantity(command.quantity);
    return [{ type: 'StockRestocked', data: { quantity: command.quantity } }];
  }
  requireReservationId(command.reservationId);
  const { reservationId } = command;
  const reservation = findReservation(state, reservationId);

  switch (command.type) {
    case 'Reserve': {
      requireQuantity(command.quantity);
      // Tombstoned by a release that came first: whatever this reserve asks for, it holds nothing.
      if (reservation?.status === 'released' && reservation.quantity === 0) return [];
      if (reservation) {
        // The same key with another quantity is not a retry but a bug in the caller: say so.
        if (reservation.quantity !== command.quantity) {
          throw new DomainError(
            'RESERVATION_MISMATCH',
            `Reservation ${reservationId} is for ${reservation.quantity} unit(s), not ${command.quantity}.`,
            'conflict',
          );
        }
        return [];
      }
      const available = availableStock(state);
      if (available < command.quantity) {
        throw new DomainError('INSUFFICIENT_STOCK', `Only ${available} unit(s) available, ${command.quantity} requested.`);
      }
      return [{ type: 'StockReserved', data: { reservationId, quantity: command.quantity } }];
    }
    case 'Release':
      if (reservation?.status === 'committed') {
        // Its units are sold: giving them back is a Return, and silently ignoring it would lose them.
        throw new DomainError('RESERVATION_COMMITTED', `Reservation ${reservationId} is committed; return it instead.`, 'conflict');
      }
      return giveBack(reservationId, reservation);
    case 'Commit':
      if (!reservation) throw new DomainError('RESERVATION_NOT_FOUND', `There is no reservation ${reservationId}.`, 'not_found');
      if (reservation.status === 'released') {
        throw new DomainError('RESERVATION_RELEASED', `Reservation ${reservationId} was released.`, 'conflict');
      }
      // 'committed' or 'returned': this commit already happened.
      return reservation.status === 'reserved' ? [{ type: 'StockCommitted', data: { reservationId, quantity: reservation.quantity } }] : [];
    case 'Return':
      if (reservation?.status === 'reserved') {
        throw new DomainError('RESERVATION_NOT_COMMITTED', `Reservation ${reservationId} is not committed; release it instead.`, 'conflict');
      }
      return reservation ? giveBack(reservationId, reservation) : [];
    case 'GiveBack':
      return giveBack(reservationId, reservation);
  }
}

function withReservation(state: StockState, reservationId: string, reservation: Reservation): Record<string, Reservation> {
  return { ...state.reservations, [reservationId]: reservation };
}

export function evolveStock(state: StockState, event: StockEvent): StockState {
  switch (event.type) {
    case 'StockRestocked':
      return { ...state, onHand: state.onHand + event.data.quantity };
    case 'StockReserved': {
      const { reservationId, quantity } = event.data;
      return { ...state, reserved: state.reserved + quantity, reservations: withReservation(state, reservationId, { quantity, status: 'reserved' }) };
    }
    case 'StockReleased': {
      const { reservationId, quantity } = event.data;
      return { ...state, reserved: state.reserved - quantity, reservations: withReservation(state, reservationId, { quantity, status: 'released' }) };
    }
    case 'StockCommitted': {
      const { reservationId, quantity } = event.data;
      return {
        onHand: state.onHand - quantity,
        reserved: state.reserved - quantity,
        reservations: withReservation(state, reservationId, { quantity, status: 'committed' }),
      };
    }
    case 'StockReturned': {
      const { reservationId, quantity } = event.data;
      return { ...state, onHand: state.onHand + quantity, reservations: withReservation(state, reservationId, { quantity, status: 'returned' }) };
    }
  }
}

export const stockDecider: Decider<StockCommand, StockState, StockEvent> = {
  initialState: initialStockState,
  decide: decideStock,
  evolve: evolveStock,
};

/** `stock-<productId>`. */
export const stockStreams = streamNames('stock');
export const STOCK_STREAM_TYPE = stockStreams.streamType;
export const stockStreamId = stockStreams.streamId;
