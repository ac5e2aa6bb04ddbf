import fc from 'fast-check';
import { DomainError, fold } from '../../src/domain/decider';
import {
  MAX_STOCK_QUANTITY,
  availableStock,
  findReservation,
  givenBackAs,
  initialStockState,
  stockDecider,
  stockStreamId,
  type StockCommand,
  type StockEvent,
  type StockState,
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
const returnStock = (reservationId: string): StockCommand => ({ type: 'Return', reservationId });
const giveBack = (reservationId: string): StockCommand => ({ type: 'GiveBack', reservationId });

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
      const state = spec
        .given([])
        .when(restock(5))
        .then([restocked(5)]);
      expect(state).toEqual({ onHand: 5, reserved: 0, reservations: {} });
    });

    test('adds to what is on hand, reservations untouched', () => {
      const state = spec
        .given(held)
        .when(restock(4))
        .then([restocked(4)]);
      expect(state).toMatchObject({ onHand: 14, reserved: 3 });
      expect(availableStock(state)).toBe(11);
    });

    test.each([1, MAX_STOCK_QUANTITY])('the boundary quantity %p is accepted', (quantity) => {
      spec
        .given([])
        .when(restock(quantity))
        .then([restocked(quantity)]);
    });

    test.each(invalidQuantities)('a %s quantity is refused with INVALID_QUANTITY (rule)', (_label, quantity) => {
      spec.given([]).when(restock(quantity)).thenThrows('INVALID_QUANTITY', 'rule');
    });
  });

  describe('Reserve', () => {
    test('holds the units: StockReserved, reserved grows, onHand stays', () => {
      const state = spec
        .given([restocked(10)])
        .when(reserve('r-1', 3))
        .then([reserved('r-1', 3)]);
      expect(state).toEqual({ onHand: 10, reserved: 3, reservations: { 'r-1': { quantity: 3, status: 'reserved' } } });
      expect(availableStock(state)).toBe(7);
    });

    test('exactly the available units can be reserved', () => {
      const state = spec
        .given(held)
        .when(reserve('r-2', 7))
        .then([reserved('r-2', 7)]);
      expect(availableStock(state)).toBe(0);
    });

    test('more than available is refused with INSUFFICIENT_STOCK (rule); units held by others count', () => {
      spec.given(held).when(reserve('r-2', 8)).thenThrows('INSUFFICIENT_STOCK', 'rule');
    });

    test('stock never restocked has nothing available: INSUFFICIENT_STOCK', () => {
      spec.given([]).when(reserve('r-1', 1)).thenThrows('INSUFFICIENT_STOCK', 'rule');
    });

    test('released units are available again; committed units are gone', () => {
      spec
        .given(histories.released)
        .when(reserve('r-2', 10))
        .then([reserved('r-2', 10)]);
      spec.given(histories.committed).when(reserve('r-2', 8)).thenThrows('INSUFFICIENT_STOCK', 'rule');
      spec
        .given(histories.committed)
        .when(reserve('r-2', 7))
        .then([reserved('r-2', 7)]);
      spec
        .given(histories.returned)
        .when(reserve('r-2', 10))
        .then([reserved('r-2', 10)]);
    });

    test.each(Object.keys(histories) as Array<keyof typeof histories>)('the same reservation id again, once %s, is no events: an id is used once', (status) => {
      const state = spec.given(histories[status]).when(reserve('r-1', 3)).then([]);
      expect(state.reservations['r-1']!.status).toBe(status);
    });

    test('a repeat needs no stock: it is answered even when nothing is available any more', () => {
      spec
        .given([...held, reserved('r-2', 7)])
        .when(reserve('r-1', 3))
        .then([]);
    });

    test.each(Object.keys(histories) as Array<keyof typeof histories>)(
      'the same id with another quantity (%s) is refused with RESERVATION_MISMATCH (conflict)',
      (status) => {
        spec.given(histories[status]).when(reserve('r-1', 2)).thenThrows('RESERVATION_MISMATCH', 'conflict');
      },
    );

    test.each(invalidQuantities)('a %s quantity is refused with INVALID_QUANTITY (rule)', (_label, quantity) => {
      spec
        .given([restocked(10)])
        .when(reserve('r-1', quantity))
        .thenThrows('INVALID_QUANTITY', 'rule');
    });

    test('an empty reservation id is refused with INVALID_RESERVATION_ID (rule)', () => {
      spec
        .given([restocked(10)])
        .when(reserve('', 1))
        .thenThrows('INVALID_RESERVATION_ID', 'rule');
    });

    test.each(['constructor', 'toString', '__proto__'])('the id %p is an ordinary new reservation', (reservationId) => {
      const state = spec
        .given([restocked(2)])
        .when(reserve(reservationId, 2))
        .then([reserved(reservationId, 2)]);
      expect(Object.hasOwn(state.reservations, reservationId)).toBe(true);
      expect(state.reservations[reservationId]).toEqual({ quantity: 2, status: 'reserved' });
      spec
        .given([restocked(2), reserved(reservationId, 2)])
        .when(reserve(reservationId, 2))
        .then([]);
    });
  });

  describe('Release', () => {
    test('gives a held reservation back: StockReleased with its quantity', () => {
      const state = spec
        .given(held)
        .when(release('r-1'))
        .then([released('r-1', 3)]);
      expect(state).toEqual({ onHand: 10, reserved: 0, reservations: { 'r-1': { quantity: 3, status: 'released' } } });
    });

    test('only that reservation: others stay held', () => {
      const state = spec
        .given([...held, reserved('r-2', 4)])
        .when(release('r-2'))
        .then([released('r-2', 4)]);
      expect(state).toMatchObject({ onHand: 10, reserved: 3 });
    });

    test('an unknown reservation is tombstoned: released with 0 units (a compensation may run before its step did)', () => {
      const state = spec
        .given(held)
        .when(release('r-late'))
        .then([released('r-late', 0)]);
      expect(state).toMatchObject({ onHand: 10, reserved: 3 });
      spec
        .given([])
        .when(release('r-late'))
        .then([released('r-late', 0)]);
    });

    test('a reserve that arrives after its release (it outlived its timeout) holds nothing', () => {
      spec
        .given([...held, released('r-late', 0)])
        .when(reserve('r-late', 2))
        .then([]);
      spec.given(histories.released).when(reserve('r-1', 3)).then([]);
      spec
        .given([...held, released('r-late', 0)])
        .when(commit('r-late'))
        .thenThrows('RESERVATION_RELEASED', 'conflict');
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
      const state = spec
        .given(held)
        .when(commit('r-1'))
        .then([committed('r-1', 3)]);
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
      const state = spec
        .given(histories.committed)
        .when(returnStock('r-1'))
        .then([returned('r-1', 3)]);
      expect(state).toEqual({ onHand: 10, reserved: 0, reservations: { 'r-1': { quantity: 3, status: 'returned' } } });
    });

    test.each(['returned', 'released'] as const)('a %s reservation is no events', (status) => {
      spec.given(histories[status]).when(returnStock('r-1')).then([]);
    });

    test('an unknown reservation is no events', () => {
      spec.given(held).when(returnStock('r-unknown')).then([]);
    });

    test('a held (not committed) reservation is refused with RESERVATION_NOT_COMMITTED (conflict)', () => {
      spec.given(held).when(returnStock('r-1')).thenThrows('RESERVATION_NOT_COMMITTED', 'conflict');
    });
  });

  describe('GiveBack (the compensation: whatever became of the reservation)', () => {
    test('a held reservation is released', () => {
      const state = spec
        .given(held)
        .when(giveBack('r-1'))
        .then([released('r-1', 3)]);
      expect(state).toMatchObject({ onHand: 10, reserved: 0 });
      expect(givenBackAs(findReservation(state, 'r-1'))).toBe('released');
    });

    test('a committed reservation (a commit that timed out but happened) is returned', () => {
      const state = spec
        .given(histories.committed)
        .when(giveBack('r-1'))
        .then([returned('r-1', 3)]);
      expect(state).toMatchObject({ onHand: 10, reserved: 0 });
      expect(givenBackAs(findReservation(state, 'r-1'))).toBe('returned');
    });

    test('an unknown reservation is tombstoned: a late reserve of it holds nothing', () => {
      const state = spec
        .given(held)
        .when(giveBack('r-late'))
        .then([released('r-late', 0)]);
      expect(givenBackAs(findReservation(state, 'r-late'))).toBe('voided');
      spec
        .given([...held, released('r-late', 0)])
        .when(reserve('r-late', 2))
        .then([]);
    });

    test.each(['released', 'returned'] as const)('a %s reservation is no events: its units are back already', (status) => {
      const state = spec.given(histories[status]).when(giveBack('r-1')).then([]);
      expect(givenBackAs(findReservation(state, 'r-1'))).toBe(status);
    });

    test('an empty reservation id is refused with INVALID_RESERVATION_ID (rule)', () => {
      spec.given(held).when(giveBack('')).thenThrows('INVALID_RESERVATION_ID', 'rule');
    });
  });

  test('any sequence of steps on a few reservations keeps the counts right and gives each back at most once', () => {
    const ids = ['a', 'b', 'c'];
    const id = fc.constantFrom(...ids);
    const quantity = fc.integer({ min: 1, max: 4 });
    const command: fc.Arbitrary<StockCommand> = fc.oneof(
      quantity.map(restock),
      fc.tuple(id, quantity).map(([r, q]) => reserve(r, q)),
      id.map(release),
      id.map(commit),
      id.map(returnStock),
      id.map(giveBack),
    );
    fc.assert(
      fc.property(fc.array(command, { maxLength: 40 }), (commands) => {
        let state: StockState = initialStockState;
        let restockedUnits = 0;
        const history = new Map(ids.map((r) => [r, [] as StockEvent['type'][]]));
        for (const c of commands) {
          const before = c.type === 'Restock' ? undefined : findReservation(state, c.reservationId);
          let events: StockEvent[];
          try {
            events = stockDecider.decide(c, state);
          } catch (err) {
            expect(err).toBeInstanceOf(DomainError);
            expect(c.type).not.toBe('GiveBack'); // the compensation never refuses
            continue;
          }
          state = events.reduce(stockDecider.evolve, state);
          for (const e of events) {
            if (e.type === 'StockRestocked') restockedUnits += e.data.quantity;
            else history.get(e.data.reservationId)!.push(e.type);
          }
          if (c.type === 'GiveBack') {
            // Afterwards its units are back, by the undo its state called for.
            const after = givenBackAs(findReservation(state, c.reservationId));
            const expected = { reserved: 'released', committed: 'returned' } as const;
            expect(after).toBe(before ? (givenBackAs(before) ?? expected[before.status as keyof typeof expected]) : 'voided');
          }
        }
        // onHand = restocked − sold (committed, not returned); reserved = units of held reservations.
        const entries = Object.values(state.reservations);
        const sold = entries.filter((r) => r.status === 'committed').reduce((n, r) => n + r.quantity, 0);
        const held = entries.filter((r) => r.status === 'reserved').reduce((n, r) => n + r.quantity, 0);
        expect(state.onHand).toBe(restockedUnits - sold);
        expect(state.reserved).toBe(held);
        expect(0 <= state.reserved && state.reserved <= state.onHand).toBe(true);
        // Each reservation lives once: held, then released or (committed, then returned); a
        // tombstone (released before it was held) is all it ever gets.
        for (const [r, types] of history) {
          expect([
            [],
            ['StockReleased'],
            ['StockReserved'],
            ['StockReserved', 'StockReleased'],
            ['StockReserved', 'StockCommitted'],
            ['StockReserved', 'StockCommitted', 'StockReturned'],
          ]).toContainEqual(types);
          if (types[0] === 'StockReleased') expect(findReservation(state, r)).toEqual({ quantity: 0, status: 'released' });
        }
      }),
      { numRuns: 500 },
    );
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
