import { fold } from '../../src/domain/decider';
import {
  MAX_STOCK_QUANTITY,
  availableStock,
  initialStockState,
  stockDecider,
  stockStreamId,
  type StockCommand,
  type StockEvent,
} from '../../src/domain/stock';
import { deciderSpec } from './spec';

const spec = deciderSpec(stockDecider);

const restocked = (quantity: number): StockEvent => ({ type: 'StockRestocked', data: { quantity } });
const reserved = (reservationId: string, quantity: number): StockEvent => ({ type: 'StockReserved', data: { reservationId, quantity } });
const released = (reservationId: string, quantity: number): StockEvent => ({ type: 'StockReleased', data: { reservationId, quantity } });
const committed = (reservationId: string, quantity: number): StockEvent => ({ type: 'StockCommitted', data: { reservationId, quantity } });
const returned = (reservationId: string, quantity: number): StockEvent => ({ type: 'StockReturned', data: { reservationId, quantity } });

const restock = (quantity: number): StockCommand => ({ type: 'Restock', quantity });
const reserve = (reservationId: string, quantity: number): StockCommand => ({ type: 'Reserve', reservationId, quantity });
const release = (reservationId: string): StockCommand => ({ type: 'Release', reservationId });
const commit = (reservationId: string): StockCommand => ({ type: 'Commit', reservationId });
const giveBack = (reservationId: string): StockCommand => ({ type: 'Return', reservationId });

const invalidQuantities: Array<[string, number]> = [
  ['zero', 0],
  ['negative', -3],
  ['fractional', 1.5],
  ['NaN', Number.NaN],
  ['infinite', Number.POSITIVE_INFINITY],
  ['above MAX_STOCK_QUANTITY', MAX_STOCK_QUANTITY + 1],
];

// One reservation of 3 out of 10 units, in each of its four statuses.
const held = [restocked(10), reserved('r-1', 3)];
const histories = {
  reserved: held,
  released: [...held, released('r-1', 3)],
  committed: [...held, committed('r-1', 3)],
  returned: [...held, committed('r-1', 3), returned('r-1', 3)],
};

describe('stock decider', () => {
  test('the stream id is stock-<productId>; new stock is empty', () => {
    expect(stockStreamId('p-1')).toBe('stock-p-1');
    expect(initialStockState).toEqual({ onHand: 0, reserved: 0, reservations: {} });
    expect(availableStock(initialStockState)).toBe(0);
  });

  describe('Restock', () => {
    test('emits StockRestocked; onHand grows by the quantity', () => {
      const state = spec.given([]).when(restock(5)).then([restocked(5)]);
      expect(state).toEqual({ onHand: 5, reserved: 0, reservations: {} });
    });

    test('adds to what is on hand, reservations untouched', () => {
      const state = spec.given(held).when(restock(4)).then([restocked(4)]);
      expect(state).toMatchObject({ onHand: 14, reserved: 3 });
      expect(availableStock(state)).toBe(11);
    });

    test.each([1, MAX_STOCK_QUANTITY])('the boundary quantity %p is accepted', (quantity) => {
      spec.given([]).when(restock(quantity)).then([restocked(quantity)]);
    });

    test.each(invalidQuantities)('a %s quantity is refused with INVALID_QUANTITY (rule)', (_label, quantity) => {
      spec.given([]).when(restock(quantity)).thenThrows('INVALID_QUANTITY', 'rule');
    });
  });

  describe('Reserve', () => {
    test('holds the units: StockReserved, reserved grows, onHand stays', () => {
      const state = spec.given([restocked(10)]).when(reserve('r-1', 3)).then([reserved('r-1', 3)]);
      expect(state).toEqual({ onHand: 10, reserved: 3, reservations: { 'r-1': { quantity: 3, status: 'reserved' } } });
      expect(availableStock(state)).toBe(7);
    });

    test('exactly the available units can be reserved', () => {
      const state = spec.given(held).when(reserve('r-2', 7)).then([reserved('r-2', 7)]);
      expect(availableStock(state)).toBe(0);
    });

    test('more than available is refused with INSUFFICIENT_STOCK (rule); units held by others count', () => {
      spec.given(held).when(reserve('r-2', 8)).thenThrows('INSUFFICIENT_STOCK', 'rule');
    });

    test('stock never restocked has nothing available: INSUFFICIENT_STOCK', () => {
      spec.given([]).when(reserve('r-1', 1)).thenThrows('INSUFFICIENT_STOCK', 'rule');
    });

    test('released units are available again; committed units are gone', () => {
      spec.given(histories.released).when(reserve('r-2', 10)).then([reserved('r-2', 10)]);
      spec.given(histories.committed).when(reserve('r-2', 8)).thenThrows('INSUFFICIENT_STOCK', 'rule');
      spec.given(histories.committed).when(reserve('r-2', 7)).then([reserved('r-2', 7)]);
      spec.given(histories.returned).when(reserve('r-2', 10)).then([reserved('r-2', 10)]);
    });

    test.each(Object.keys(histories) as Array<keyof typeof histories>)(
      'the same reservation id again, once %s, is no events: an id is used once',
      (status) => {
        const state = spec.given(histories[status]).when(reserve('r-1', 3)).then([]);
        expect(state.reservations['r-1']!.status).toBe(status);
      },
    );

    test('a repeat needs no stock: it is answered even when nothing is available any more', () => {
      spec.given([...held, reserved('r-2', 7)]).when(reserve('r-1', 3)).then([]);
    });

    test.each(Object.keys(histories) as Array<keyof typeof histories>)(
      'the same id with another quantity (%s) is refused with RESERVATION_MISMATCH (conflict)',
      (status) => {
        spec.given(histories[status]).when(reserve('r-1', 2)).thenThrows('RESERVATION_MISMATCH', 'conflict');
      },
    );

    test.each(invalidQuantities)('a %s quantity is refused with INVALID_QUANTITY (rule)', (_label, quantity) => {
      spec.given([restocked(10)]).when(reserve('r-1', quantity)).thenThrows('INVALID_QUANTITY', 'rule');
    });

    test('an empty reservation id is refused with INVALID_RESERVATION_ID (rule)', () => {
      spec.given([restocked(10)]).when(reserve('', 1)).thenThrows('INVALID_RESERVATION_ID', 'rule');
    });

    test.each(['constructor', 'toString', '__proto__'])('the id %p is an ordinary new reservation', (reservationId) => {
      const state = spec.given([restocked(2)]).when(reserve(reservationId, 2)).then([reserved(reservationId, 2)]);
      expect(Object.hasOwn(state.reservations, reservationId)).toBe(true);
      expect(state.reservations[reservationId]).toEqual({ quantity: 2, status: 'reserved' });
      spec.given([restocked(2), reserved(reservationId, 2)]).when(reserve(reservationId, 2)).then([]);
    });
  });

  describe('Release', () => {
    test('gives a held reservation back: StockReleased with its quantity', () => {
      const state = spec.given(held).when(release('r-1')).then([released('r-1', 3)]);
      expect(state).toEqual({ onHand: 10, reserved: 0, reservations: { 'r-1': { quantity: 3, status: 'released' } } });
    });

    test('only that reservation: others stay held', () => {
      const state = spec.given([...held, reserved('r-2', 4)]).when(release('r-2')).then([released('r-2', 4)]);
      expect(state).toMatchObject({ onHand: 10, reserved: 3 });
    });

    test('an unknown reservation is tombstoned: released with 0 units (a compensation may run before its step did)', () => {
      const state = spec.given(held).when(release('r-late')).then([released('r-late', 0)]);
      expect(state).toMatchObject({ onHand: 10, reserved: 3 });
      spec.given([]).when(release('r-late')).then([released('r-late', 0)]);
    });

    test('a reserve that arrives after its release (it outlived its timeout) holds nothing', () => {
      spec.given([...held, released('r-late', 0)]).when(reserve('r-late', 2)).then([]);
      spec.given(histories.released).when(reserve('r-1', 3)).then([]);
      spec.given([...held, released('r-late', 0)]).when(commit('r-late')).thenThrows('RESERVATION_RELEASED', 'conflict');
    });

    test.each(['released', 'returned'] as const)('a %s reservation is no events', (status) => {
      spec.given(histories[status]).when(release('r-1')).then([]);
    });

    test('a committed reservation is refused with RESERVATION_COMMITTED (conflict): its units are sold', () => {
      spec.given(histories.committed).when(release('r-1')).thenThrows('RESERVATION_COMMITTED', 'conflict');
    });
  });

  describe('Commit', () => {
    test('turns a held reservation into a sale: onHand and reserved both drop by its quantity', () => {
      const state = spec.given(held).when(commit('r-1')).then([committed('r-1', 3)]);
      expect(state).toEqual({ onHand: 7, reserved: 0, reservations: { 'r-1': { quantity: 3, status: 'committed' } } });
    });

    test.each(['committed', 'returned'] as const)('a %s reservation is no events: the commit already happened', (status) => {
      spec.given(histories[status]).when(commit('r-1')).then([]);
    });

    test('a released reservation is refused with RESERVATION_RELEASED (conflict)', () => {
      spec.given(histories.released).when(commit('r-1')).thenThrows('RESERVATION_RELEASED', 'conflict');
    });

    test('an unknown reservation is refused with RESERVATION_NOT_FOUND (not_found)', () => {
      spec.given(held).when(commit('r-unknown')).thenThrows('RESERVATION_NOT_FOUND', 'not_found');
    });
  });

  describe('Return', () => {
    test('puts a committed reservation back on hand: StockReturned with its quantity', () => {
      const state = spec.given(histories.committed).when(giveBack('r-1')).then([returned('r-1', 3)]);
      expect(state).toEqual({ onHand: 10, reserved: 0, reservations: { 'r-1': { quantity: 3, status: 'returned' } } });
    });

    test.each(['returned', 'released'] as const)('a %s reservation is no events', (status) => {
      spec.given(histories[status]).when(giveBack('r-1')).then([]);
    });

    test('an unknown reservation is no events', () => {
      spec.given(held).when(giveBack('r-unknown')).then([]);
    });

    test('a held (not committed) reservation is refused with RESERVATION_NOT_COMMITTED (conflict)', () => {
      spec.given(held).when(giveBack('r-1')).thenThrows('RESERVATION_NOT_COMMITTED', 'conflict');
    });
  });

  test('a whole life folds to onHand (restocks - committed + returned) and reserved (held only)', () => {
    const events = [
      restocked(10),
      reserved('a', 2),
      reserved('b', 3),
      reserved('c', 4),
      released('a', 2),
      committed('b', 3),
      returned('b', 3),
      committed('c', 4),
      restocked(1),
    ];
    const state = fold(stockDecider, events);
    expect(state).toEqual({
      onHand: 7,
      reserved: 0,
      reservations: {
        a: { quantity: 2, status: 'released' },
        b: { quantity: 3, status: 'returned' },
        c: { quantity: 4, status: 'committed' },
      },
    });
  });
});
