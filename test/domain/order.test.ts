import fc from 'fast-check';
import { fold } from '../../src/domain/decider';
import {
  MAX_ORDER_TOTAL_CENTS,
  MAX_QUANTITY,
  initialOrderState,
  orderDecider,
  type Address,
  type OrderCommand,
  type OrderEvent,
  type OrderLine,
  type OrderState,
} from '../../src/domain/order';
import { deciderSpec } from './spec';

const spec = deciderSpec(orderDecider);

// ---------------------------------------------------------------------------------------------
// Fixtures

const ORDER_ID = 'order-1';
const CUSTOMER_ID = 'customer-1';

const home: Address = { name: 'Ada Lovelace', line1: '12 St James Square', city: 'London', postalCode: 'SW1Y 4JH', country: 'GB' };
const office: Address = {
  name: 'Ada Lovelace',
  line1: 'Analytical Engines Ltd',
  line2: 'Floor 3',
  city: 'Manchester',
  postalCode: 'M1 1AA',
  country: 'GB',
};

const widget = { productId: 'widget', name: 'Widget', unitPriceCents: 1250 };
const gadget = { productId: 'gadget', name: 'Gadget', unitPriceCents: 199 };

const created = (shippingAddress: Address | null = home): OrderEvent => ({
  type: 'OrderCreated',
  data: { orderId: ORDER_ID, customerId: CUSTOMER_ID, shippingAddress },
});

const itemAdded = (item: { productId: string; name: string; unitPriceCents: number }, quantity: number): OrderEvent => ({
  type: 'OrderItemAdded',
  data: { productId: item.productId, name: item.name, unitPriceCents: item.unitPriceCents, quantity, lineTotalCents: item.unitPriceCents * quantity },
});

const quantityChanged = (productId: string, oldQuantity: number, newQuantity: number): OrderEvent => ({
  type: 'OrderItemQuantityChanged',
  data: { productId, oldQuantity, newQuantity },
});

const itemRemoved = (productId: string, quantity: number): OrderEvent => ({ type: 'OrderItemRemoved', data: { productId, quantity } });

const addressChanged = (oldAddress: Address | null, newAddress: Address): OrderEvent => ({
  type: 'ShippingAddressChanged',
  data: { oldAddress, newAddress },
});

const line = (item: { productId: string; name: string; unitPriceCents: number }, quantity: number): OrderLine => ({ ...item, quantity });

const placed = (items: OrderLine[]): OrderEvent => ({
  type: 'OrderPlaced',
  data: { checkoutAttempt: 1, totalCents: items.reduce((sum, l) => sum + l.unitPriceCents * l.quantity, 0), items },
});

const cancelled = (reason: string, previousStatus: 'PENDING' | 'PLACED' | 'CONFIRMED', compensations: string[] = []): OrderEvent => ({
  type: 'OrderCancelled',
  data: { reason, previousStatus, compensations },
});

const checkoutSucceeded = (totalCents: number): OrderEvent => ({
  type: 'CheckoutSucceeded',
  data: { attempt: 1, reservationId: `${ORDER_ID}-1`, paymentId: `${ORDER_ID}-1`, totalCents },
});

const shipped: OrderEvent = { type: 'OrderShipped', data: {} };
const expired: OrderEvent = { type: 'OrderExpired', data: { previousStatus: 'PENDING' } };

const addItem = (item: { productId: string; name: string; unitPriceCents: number }, quantity: number): OrderCommand => ({
  type: 'AddItem',
  productId: item.productId,
  quantity,
  product: { name: item.name, unitPriceCents: item.unitPriceCents },
});

/** Histories that put the order in each status. */
const pendingWithWidget: OrderEvent[] = [created(), itemAdded(widget, 2)];
const placedHistory: OrderEvent[] = [...pendingWithWidget, placed([line(widget, 2)])];
// SHIPPED is not reachable through `decide` yet (nothing confirms an order), but it is a valid history.
const confirmedHistory: OrderEvent[] = [...placedHistory, checkoutSucceeded(2500)];
const shippedHistory: OrderEvent[] = [...confirmedHistory, shipped];
const cancelledHistory: OrderEvent[] = [...pendingWithWidget, cancelled('changed my mind', 'PENDING')];
const expiredHistory: OrderEvent[] = [...pendingWithWidget, expired];

/** One valid instance of every command that addresses an existing order. */
const commandsOnExistingOrder: Array<[OrderCommand['type'], OrderCommand]> = [
  ['AddItem', addItem(gadget, 1)],
  ['ChangeItemQuantity', { type: 'ChangeItemQuantity', productId: widget.productId, quantity: 5 }],
  ['RemoveItem', { type: 'RemoveItem', productId: widget.productId }],
  ['ChangeShippingAddress', { type: 'ChangeShippingAddress', address: office }],
  ['PlaceOrder', { type: 'PlaceOrder' }],
  ['CancelOrder', { type: 'CancelOrder', reason: 'changed my mind' }],
  ['MarkShipped', { type: 'MarkShipped' }],
  ['ExpireOrder', { type: 'ExpireOrder' }],
];

/** The commands that edit the cart or place it: only a PENDING order takes them. */
const editCommands = commandsOnExistingOrder.filter(([type]) =>
  (['AddItem', 'ChangeItemQuantity', 'RemoveItem', 'ChangeShippingAddress', 'PlaceOrder'] as const).some((t) => t === type),
);

// ---------------------------------------------------------------------------------------------

describe('order decider', () => {
  describe('CreateOrder', () => {
    test('without a shipping address emits OrderCreated with a null address', () => {
      const state = spec
        .given([])
        .when({ type: 'CreateOrder', orderId: ORDER_ID, customerId: CUSTOMER_ID })
        .then([created(null)]);
      expect(state).toMatchObject({ status: 'PENDING', orderId: ORDER_ID, customerId: CUSTOMER_ID, shippingAddress: null });
    });

    test('with a shipping address emits OrderCreated carrying the address', () => {
      spec
        .given([])
        .when({ type: 'CreateOrder', orderId: ORDER_ID, customerId: CUSTOMER_ID, shippingAddress: home })
        .then([created(home)]);
    });

    test('keeps the optional second address line', () => {
      spec
        .given([])
        .when({ type: 'CreateOrder', orderId: ORDER_ID, customerId: CUSTOMER_ID, shippingAddress: office })
        .then([created(office)]);
    });

    test('an address with a blank optional second line is accepted', () => {
      const address: Address = { ...home, line2: '' };
      spec
        .given([])
        .when({ type: 'CreateOrder', orderId: ORDER_ID, customerId: CUSTOMER_ID, shippingAddress: address })
        .then([created(address)]);
    });

    test('on an existing order is refused with ORDER_ALREADY_EXISTS (conflict)', () => {
      spec.given([created()]).when({ type: 'CreateOrder', orderId: ORDER_ID, customerId: CUSTOMER_ID }).thenThrows('ORDER_ALREADY_EXISTS', 'conflict');
    });

    test('on a closed order is still ORDER_ALREADY_EXISTS, not a fresh start', () => {
      spec.given(cancelledHistory).when({ type: 'CreateOrder', orderId: ORDER_ID, customerId: CUSTOMER_ID }).thenThrows('ORDER_ALREADY_EXISTS', 'conflict');
    });

    test.each(['', '   ', '\t\n'])('a blank customer id (%j) is refused with INVALID_CUSTOMER (rule)', (customerId) => {
      spec.given([]).when({ type: 'CreateOrder', orderId: ORDER_ID, customerId }).thenThrows('INVALID_CUSTOMER', 'rule');
    });

    test.each(['name', 'line1', 'city', 'postalCode', 'country'] as const)('an address with a blank %s is refused with INVALID_ADDRESS (rule)', (field) => {
      const shippingAddress: Address = { ...home, [field]: '  ' };
      spec.given([]).when({ type: 'CreateOrder', orderId: ORDER_ID, customerId: CUSTOMER_ID, shippingAddress }).thenThrows('INVALID_ADDRESS', 'rule');
    });
  });

  describe('AddItem', () => {
    test("emits OrderItemAdded with the name and unit price of the command's catalog product", () => {
      spec
        .given([created()])
        .when({ type: 'AddItem', productId: 'widget', quantity: 3, product: { name: 'Widget (blue)', unitPriceCents: 1999 } })
        .then([{ type: 'OrderItemAdded', data: { productId: 'widget', name: 'Widget (blue)', unitPriceCents: 1999, quantity: 3, lineTotalCents: 5997 } }]);
    });

    test('a product the catalog does not know is refused with PRODUCT_NOT_FOUND', () => {
      spec.given([created()]).when({ type: 'AddItem', productId: 'ghost', quantity: 1, product: null }).thenThrows('PRODUCT_NOT_FOUND', 'rule');
    });

    test.each([0, -1, MAX_QUANTITY + 1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('quantity %p is refused with INVALID_QUANTITY (rule)', (quantity) => {
      spec.given([created()]).when(addItem(widget, quantity)).thenThrows('INVALID_QUANTITY', 'rule');
    });

    test.each([1, MAX_QUANTITY])('the boundary quantity %p is accepted', (quantity) => {
      spec
        .given([created()])
        .when(addItem(widget, quantity))
        .then([itemAdded(widget, quantity)]);
    });

    test('a second product becomes a second line', () => {
      const state = spec
        .given(pendingWithWidget)
        .when(addItem(gadget, 4))
        .then([itemAdded(gadget, 4)]);
      expect(state.items).toEqual([line(widget, 2), line(gadget, 4)]);
    });

    test('the same product added twice merges into one line with the summed quantity and the latest price and name', () => {
      const repriced = { ...widget, name: 'Widget v2', unitPriceCents: 1100 };
      const state = spec
        .given(pendingWithWidget)
        .when(addItem(repriced, 3))
        // lineTotalCents is this event's own price × quantity, not the merged line's total.
        .then([{ type: 'OrderItemAdded', data: { productId: 'widget', name: 'Widget v2', unitPriceCents: 1100, quantity: 3, lineTotalCents: 3300 } }]);
      expect(state.items).toEqual([{ productId: 'widget', name: 'Widget v2', unitPriceCents: 1100, quantity: 5 }]);
      expect(state.totalCents).toBe(5 * 1100);
    });

    test('a merge that reaches exactly the maximum quantity is accepted', () => {
      const state = spec
        .given([created(), itemAdded(widget, MAX_QUANTITY - 1)])
        .when(addItem(widget, 1))
        .then([itemAdded(widget, 1)]);
      expect(state.items).toEqual([line(widget, MAX_QUANTITY)]);
    });

    test('a merge that would exceed the maximum quantity is refused with INVALID_QUANTITY', () => {
      spec
        .given([created(), itemAdded(widget, MAX_QUANTITY - 1)])
        .when(addItem(widget, 2))
        .thenThrows('INVALID_QUANTITY', 'rule');
    });

    test('the quantity limit is per line: another product is not counted against it', () => {
      spec
        .given([created(), itemAdded(widget, MAX_QUANTITY)])
        .when(addItem(gadget, MAX_QUANTITY))
        .then([itemAdded(gadget, MAX_QUANTITY)]);
    });
  });

  describe('ChangeItemQuantity', () => {
    test('emits OrderItemQuantityChanged with the old and the new quantity', () => {
      const state = spec
        .given(pendingWithWidget)
        .when({ type: 'ChangeItemQuantity', productId: 'widget', quantity: 7 })
        .then([quantityChanged('widget', 2, 7)]);
      expect(state.items).toEqual([line(widget, 7)]);
    });

    test('can lower the quantity', () => {
      spec
        .given([created(), itemAdded(widget, 9)])
        .when({ type: 'ChangeItemQuantity', productId: 'widget', quantity: 1 })
        .then([quantityChanged('widget', 9, 1)]);
    });

    test('the old quantity is the merged line quantity', () => {
      spec
        .given([...pendingWithWidget, itemAdded(widget, 3)])
        .when({ type: 'ChangeItemQuantity', productId: 'widget', quantity: 1 })
        .then([quantityChanged('widget', 5, 1)]);
    });

    test('the same quantity emits no events', () => {
      spec.given(pendingWithWidget).when({ type: 'ChangeItemQuantity', productId: 'widget', quantity: 2 }).then([]);
    });

    test('a product that is not in the cart is refused with ITEM_NOT_IN_CART (rule)', () => {
      spec.given(pendingWithWidget).when({ type: 'ChangeItemQuantity', productId: 'gadget', quantity: 1 }).thenThrows('ITEM_NOT_IN_CART', 'rule');
    });

    test('a product that was removed is no longer in the cart', () => {
      spec
        .given([...pendingWithWidget, itemRemoved('widget', 2)])
        .when({ type: 'ChangeItemQuantity', productId: 'widget', quantity: 1 })
        .thenThrows('ITEM_NOT_IN_CART', 'rule');
    });

    test.each([0, MAX_QUANTITY + 1, 1.5])('quantity %p is refused with INVALID_QUANTITY (rule)', (quantity) => {
      spec.given(pendingWithWidget).when({ type: 'ChangeItemQuantity', productId: 'widget', quantity }).thenThrows('INVALID_QUANTITY', 'rule');
    });

    test('the maximum quantity is accepted', () => {
      spec
        .given(pendingWithWidget)
        .when({ type: 'ChangeItemQuantity', productId: 'widget', quantity: MAX_QUANTITY })
        .then([quantityChanged('widget', 2, MAX_QUANTITY)]);
    });
  });

  describe('RemoveItem', () => {
    test('emits OrderItemRemoved with the quantity the line had', () => {
      const state = spec
        .given([created(), itemAdded(widget, 2), itemAdded(gadget, 1), itemAdded(widget, 4)])
        .when({ type: 'RemoveItem', productId: 'widget' })
        .then([itemRemoved('widget', 6)]);
      expect(state.items).toEqual([line(gadget, 1)]);
    });

    test('a product that is not in the cart is refused with ITEM_NOT_IN_CART (rule)', () => {
      spec.given(pendingWithWidget).when({ type: 'RemoveItem', productId: 'gadget' }).thenThrows('ITEM_NOT_IN_CART', 'rule');
    });

    test('a product cannot be removed twice', () => {
      spec
        .given([...pendingWithWidget, itemRemoved('widget', 2)])
        .when({ type: 'RemoveItem', productId: 'widget' })
        .thenThrows('ITEM_NOT_IN_CART', 'rule');
    });
  });

  describe('ChangeShippingAddress', () => {
    test('on an order without an address emits ShippingAddressChanged with a null old address', () => {
      const state = spec
        .given([created(null)])
        .when({ type: 'ChangeShippingAddress', address: home })
        .then([addressChanged(null, home)]);
      expect(state.shippingAddress).toEqual(home);
    });

    test('emits the old and the new address', () => {
      const state = spec
        .given([created(home)])
        .when({ type: 'ChangeShippingAddress', address: office })
        .then([addressChanged(home, office)]);
      expect(state.shippingAddress).toEqual(office);
    });

    test('the old address is the latest one, not the one given at creation', () => {
      spec
        .given([created(home), addressChanged(home, office)])
        .when({ type: 'ChangeShippingAddress', address: home })
        .then([addressChanged(office, home)]);
    });

    test.each(['name', 'line1', 'city', 'postalCode', 'country'] as const)('an address with a blank %s is refused with INVALID_ADDRESS (rule)', (field) => {
      spec
        .given([created(home)])
        .when({ type: 'ChangeShippingAddress', address: { ...office, [field]: '' } })
        .thenThrows('INVALID_ADDRESS', 'rule');
    });
  });

  describe('PlaceOrder', () => {
    test('emits OrderPlaced with checkout attempt 1, the total and the lines', () => {
      const state = spec
        .given([created(home), itemAdded(widget, 2), itemAdded(gadget, 3)])
        .when({ type: 'PlaceOrder' })
        .then([
          {
            type: 'OrderPlaced',
            data: { checkoutAttempt: 1, totalCents: 2 * 1250 + 3 * 199, items: [line(widget, 2), line(gadget, 3)] },
          },
        ]);
      expect(state).toMatchObject({ status: 'PLACED', checkoutAttempts: 1, totalCents: 3097 });
    });

    test('the placed lines and total reflect every edit before placing', () => {
      spec
        .given([
          created(null),
          itemAdded(widget, 2),
          itemAdded(gadget, 3),
          quantityChanged('gadget', 3, 10),
          itemRemoved('widget', 2),
          addressChanged(null, office),
        ])
        .when({ type: 'PlaceOrder' })
        .then([{ type: 'OrderPlaced', data: { checkoutAttempt: 1, totalCents: 1990, items: [line(gadget, 10)] } }]);
    });

    test('an empty cart is refused with CART_EMPTY (rule)', () => {
      spec
        .given([created(home)])
        .when({ type: 'PlaceOrder' })
        .thenThrows('CART_EMPTY', 'rule');
    });

    test('a cart emptied by removals is refused with CART_EMPTY', () => {
      spec
        .given([...pendingWithWidget, itemRemoved('widget', 2)])
        .when({ type: 'PlaceOrder' })
        .thenThrows('CART_EMPTY', 'rule');
    });

    test('without a shipping address is refused with SHIPPING_ADDRESS_MISSING (rule)', () => {
      spec
        .given([created(null), itemAdded(widget, 1)])
        .when({ type: 'PlaceOrder' })
        .thenThrows('SHIPPING_ADDRESS_MISSING', 'rule');
    });
  });

  describe('pricing at checkout', () => {
    const withWidget = [created(home), itemAdded(widget, 2)];

    test('PlaceOrder with the catalog prices every line at its current price, and OrderPlaced carries them', () => {
      const repriced = { name: 'Widget v2', unitPriceCents: 10_000 };
      const state = spec
        .given(withWidget)
        .when({ type: 'PlaceOrder', catalog: { widget: repriced } })
        .then([placed([{ productId: 'widget', ...repriced, quantity: 2 }])]);
      expect(state).toMatchObject({ totalCents: 20_000, items: [{ productId: 'widget', unitPriceCents: 10_000 }] });
    });

    test('a product gone from the catalog cannot be placed (PRODUCT_NOT_FOUND)', () => {
      spec
        .given(withWidget)
        .when({ type: 'PlaceOrder', catalog: { widget: null } })
        .thenThrows('PRODUCT_NOT_FOUND', 'rule');
      spec.given(withWidget).when({ type: 'PlaceOrder', catalog: {} }).thenThrows('PRODUCT_NOT_FOUND', 'rule');
    });

    test('a total the client did not approve is refused with PRICES_CHANGED (conflict), nothing placed', () => {
      const catalog = { widget: { name: 'Widget', unitPriceCents: 1300 } };
      spec.given(withWidget).when({ type: 'PlaceOrder', catalog, expectedTotalCents: 2500 }).thenThrows('PRICES_CHANGED', 'conflict');
      spec
        .given(withWidget)
        .when({ type: 'PlaceOrder', catalog, expectedTotalCents: 2600 })
        .then([placed([line({ ...widget, unitPriceCents: 1300 }, 2)])]);
    });

    test('whatever the prices did, the order is placed at the catalog prices of the moment', () => {
      fc.assert(
        fc.property(
          fc.array(fc.integer({ min: 0, max: 1_000_000 }), { minLength: 1, maxLength: 5 }),
          fc.integer({ min: 0, max: 1_000_000 }),
          fc.integer({ min: 1, max: 20 }),
          (earlierPrices, placedPrice, quantity) => {
            // The line was added at each earlier price in turn; the catalog says placedPrice now.
            const history = [created(home), ...earlierPrices.map((unitPriceCents) => itemAdded({ ...widget, unitPriceCents }, 1))];
            const changed = [...history, quantityChanged('widget', earlierPrices.length, quantity)];
            const [event] = orderDecider.decide(
              { type: 'PlaceOrder', catalog: { widget: { name: 'Widget', unitPriceCents: placedPrice } } },
              fold(orderDecider, changed),
            );
            expect(event).toMatchObject({ type: 'OrderPlaced', data: { totalCents: placedPrice * quantity } });
          },
        ),
      );
    });
  });

  describe('the total cap', () => {
    const pricey = { productId: 'pricey', name: 'Pricey', unitPriceCents: 2_000_000 };
    const cap = { maxTotalCents: MAX_ORDER_TOTAL_CENTS };

    test('a cart never grows past what one debit can take (ORDER_TOTAL_TOO_LARGE)', () => {
      spec
        .given([created(home)])
        .when({ ...addItem(pricey, 500), ...cap })
        .then([itemAdded(pricey, 500)]);
      spec
        .given([created(home), itemAdded(pricey, 500)])
        .when({ ...addItem(pricey, 1), ...cap })
        .thenThrows('ORDER_TOTAL_TOO_LARGE', 'rule');
      spec
        .given([created(home), itemAdded(pricey, 400)])
        .when({ type: 'ChangeItemQuantity', productId: 'pricey', quantity: 501, ...cap })
        .thenThrows('ORDER_TOTAL_TOO_LARGE', 'rule');
    });

    test('adding to a line reprices the whole line, and the cap counts it at the new price', () => {
      const raised = { ...pricey, unitPriceCents: 2_000_001 };
      spec
        .given([created(home), itemAdded(pricey, 499)])
        .when({ ...addItem(raised, 1), ...cap })
        .thenThrows('ORDER_TOTAL_TOO_LARGE', 'rule');
    });

    test('checkout reprices, so a raised price can take a cart over the cap there', () => {
      const catalog = { pricey: { name: 'Pricey', unitPriceCents: 3_000_000 } };
      spec
        .given([created(home), itemAdded(pricey, 400)])
        .when({ type: 'PlaceOrder', catalog, ...cap })
        .thenThrows('ORDER_TOTAL_TOO_LARGE', 'rule');
    });

    test('histories decided before the cap are decided as they were', () => {
      spec
        .given([created(home), itemAdded(pricey, 500)])
        .when(addItem(pricey, 1))
        .then([itemAdded(pricey, 1)]);
    });
  });

  describe('CancelOrder', () => {
    test('from PENDING emits OrderCancelled with the reason and previous status PENDING', () => {
      const state = spec
        .given(pendingWithWidget)
        .when({ type: 'CancelOrder', reason: 'found it cheaper' })
        .then([cancelled('found it cheaper', 'PENDING')]);
      expect(state).toMatchObject({ status: 'CANCELLED', cancellationReason: 'found it cheaper' });
    });

    test('from PLACED emits OrderCancelled with previous status PLACED', () => {
      const state = spec
        .given(placedHistory)
        .when({ type: 'CancelOrder', reason: 'payment declined' })
        .then([cancelled('payment declined', 'PLACED')]);
      expect(state.status).toBe('CANCELLED');
    });

    test.each(['', '   '])('a blank reason (%j) is refused with CANCELLATION_REASON_REQUIRED (rule)', (reason) => {
      spec.given(pendingWithWidget).when({ type: 'CancelOrder', reason }).thenThrows('CANCELLATION_REASON_REQUIRED', 'rule');
    });
  });

  describe('MarkShipped', () => {
    test('on a PENDING order is refused with ORDER_NOT_CONFIRMED (conflict)', () => {
      spec.given(pendingWithWidget).when({ type: 'MarkShipped' }).thenThrows('ORDER_NOT_CONFIRMED', 'conflict');
    });

    test('on a PLACED order is refused with ORDER_NOT_CONFIRMED (conflict)', () => {
      spec.given(placedHistory).when({ type: 'MarkShipped' }).thenThrows('ORDER_NOT_CONFIRMED', 'conflict');
    });
  });

  describe('ExpireOrder', () => {
    test('from PENDING emits OrderExpired with previous status PENDING', () => {
      const state = spec.given(pendingWithWidget).when({ type: 'ExpireOrder' }).then([expired]);
      expect(state.status).toBe('EXPIRED');
    });

    test('an empty PENDING cart expires too', () => {
      spec
        .given([created(null)])
        .when({ type: 'ExpireOrder' })
        .then([expired]);
    });

    test('on a PLACED order is refused with ORDER_NOT_PENDING (conflict)', () => {
      spec.given(placedHistory).when({ type: 'ExpireOrder' }).thenThrows('ORDER_NOT_PENDING', 'conflict');
    });
  });

  describe('edits only while PENDING', () => {
    test('the edit commands are the five cart commands', () => {
      expect(editCommands.map(([type]) => type)).toEqual(['AddItem', 'ChangeItemQuantity', 'RemoveItem', 'ChangeShippingAddress', 'PlaceOrder']);
    });

    test.each(editCommands)('%s on a PLACED order is refused with ORDER_NOT_PENDING (conflict)', (_type, command) => {
      spec.given(placedHistory).when(command).thenThrows('ORDER_NOT_PENDING', 'conflict');
    });
  });

  describe('commands on an order that does not exist', () => {
    test.each(commandsOnExistingOrder)('%s is refused with ORDER_NOT_FOUND (not_found)', (_type, command) => {
      spec.given([]).when(command).thenThrows('ORDER_NOT_FOUND', 'not_found');
    });
  });

  describe('commands on a closed order', () => {
    const closed: Array<[string, OrderEvent[]]> = [
      ['SHIPPED', shippedHistory],
      ['CANCELLED', cancelledHistory],
      ['EXPIRED', expiredHistory],
    ];

    test.each(closed)('the %s history really closes the order', (status, history) => {
      expect(fold(orderDecider, history).status).toBe(status);
    });

    describe.each(closed)('%s', (_status, history) => {
      test.each(commandsOnExistingOrder)('%s is refused with ORDER_CLOSED (conflict)', (_type, command) => {
        spec.given(history).when(command).thenThrows('ORDER_CLOSED', 'conflict');
      });
    });
  });

  describe('a CONFIRMED order', () => {
    test('MarkShipped emits OrderShipped', () => {
      spec.given(confirmedHistory).when({ type: 'MarkShipped' }).then([shipped]);
    });

    test('CancelOrder needs the compensations done first (COMPENSATION_REQUIRED, conflict)', () => {
      spec.given(confirmedHistory).when({ type: 'CancelOrder', reason: 'too late' }).thenThrows('COMPENSATION_REQUIRED', 'conflict');
    });

    test('CancelOrder with its compensations emits OrderCancelled naming them, previous status CONFIRMED', () => {
      const undone = ['return stock of widget', 'refund payment'];
      spec
        .given(confirmedHistory)
        .when({ type: 'CancelOrder', reason: 'out of stock', compensations: undone })
        .then([cancelled('out of stock', 'CONFIRMED', undone)]);
    });

    test('edits are refused with ORDER_NOT_PENDING', () => {
      spec.given(confirmedHistory).when(addItem(gadget, 1)).thenThrows('ORDER_NOT_PENDING', 'conflict');
    });
  });

  describe('RecordCheckout (the saga reports)', () => {
    const reserved = { type: 'StockReserved' as const, productId: 'widget', quantity: 2 };
    const debited = { type: 'PaymentDebited' as const, paymentId: `${ORDER_ID}-1`, amountCents: 2500 };

    test('success records each step, then CheckoutSucceeded: the order is CONFIRMED and knows what to undo', () => {
      const state = spec
        .given(placedHistory)
        .when({
          type: 'RecordCheckout',
          attempt: 1,
          report: { outcome: 'succeeded', reservationId: `${ORDER_ID}-1`, paymentId: `${ORDER_ID}-1`, steps: [reserved, debited] },
        })
        .then([
          { type: 'StockReserved', data: { attempt: 1, productId: 'widget', quantity: 2 } },
          { type: 'PaymentDebited', data: { attempt: 1, paymentId: `${ORDER_ID}-1`, amountCents: 2500 } },
          checkoutSucceeded(2500),
        ]);
      expect(state).toMatchObject({
        status: 'CONFIRMED',
        lastCheckoutFailure: null,
        checkout: { attempt: 1, reservationId: `${ORDER_ID}-1`, paymentId: `${ORDER_ID}-1`, amountCents: 2500 },
      });
    });

    test('failure records the steps it got to and CheckoutFailed with its compensations: back to PENDING', () => {
      const state = spec
        .given(placedHistory)
        .when({
          type: 'RecordCheckout',
          attempt: 1,
          report: { outcome: 'failed', code: 'INSUFFICIENT_FUNDS', message: 'balance too low', steps: [reserved], compensations: ['release stock of widget'] },
        })
        .then([
          { type: 'StockReserved', data: { attempt: 1, productId: 'widget', quantity: 2 } },
          { type: 'CheckoutFailed', data: { attempt: 1, code: 'INSUFFICIENT_FUNDS', message: 'balance too low', compensations: ['release stock of widget'] } },
        ]);
      expect(state).toMatchObject({ status: 'PENDING', checkout: null, lastCheckoutFailure: { attempt: 1, code: 'INSUFFICIENT_FUNDS' } });
      // The customer can fix the cart and try again: the next attempt is number 2.
      spec
        .given([...placedHistory, { type: 'CheckoutFailed', data: { attempt: 1, code: 'X', message: 'x', compensations: [] } }])
        .when({ type: 'PlaceOrder' })
        .then([{ type: 'OrderPlaced', data: { checkoutAttempt: 2, totalCents: 2500, items: [line(widget, 2)] } }]);
    });

    test('a report for an attempt that is not running is refused (CHECKOUT_NOT_RUNNING)', () => {
      const report = { outcome: 'succeeded' as const, reservationId: 'r', paymentId: 'p', steps: [] };
      spec.given(pendingWithWidget).when({ type: 'RecordCheckout', attempt: 1, report }).thenThrows('CHECKOUT_NOT_RUNNING', 'conflict');
      spec.given(placedHistory).when({ type: 'RecordCheckout', attempt: 2, report }).thenThrows('CHECKOUT_NOT_RUNNING', 'conflict');
    });
  });
});

describe('order evolve', () => {
  const evolveAll = (events: OrderEvent[]): OrderState => fold(orderDecider, events);

  test('the initial state is an order that does not exist', () => {
    expect(orderDecider.initialState).toEqual(initialOrderState);
    expect(initialOrderState).toMatchObject({ status: 'NONE', items: [], totalCents: 0, checkoutAttempts: 0 });
  });

  test('OrderCreated makes a PENDING order with an empty cart', () => {
    expect(evolveAll([created(office)])).toEqual({
      ...initialOrderState,
      status: 'PENDING',
      orderId: ORDER_ID,
      customerId: CUSTOMER_ID,
      shippingAddress: office,
    });
  });

  describe('totalCents is the integer sum of unitPriceCents × quantity', () => {
    // Prices chosen so that any float arithmetic in major units would show up (0.1 + 0.2 style).
    const tenCents = { productId: 'ten', name: 'Ten', unitPriceCents: 10 };
    const twentyCents = { productId: 'twenty', name: 'Twenty', unitPriceCents: 20 };
    const steps: Array<[string, OrderEvent[], number]> = [
      ['after the first add', [created(), itemAdded(widget, 3)], 3 * 1250],
      ['after a second product', [created(), itemAdded(widget, 3), itemAdded(gadget, 7)], 3 * 1250 + 7 * 199],
      ['after a merge at a new price', [created(), itemAdded(widget, 3), itemAdded({ ...widget, unitPriceCents: 1000 }, 1)], 4 * 1000],
      ['after a quantity change', [created(), itemAdded(widget, 3), itemAdded(gadget, 7), quantityChanged('gadget', 7, 2)], 3 * 1250 + 2 * 199],
      ['after a removal', [created(), itemAdded(widget, 3), itemAdded(gadget, 7), itemRemoved('widget', 3)], 7 * 199],
      ['after removing everything', [created(), itemAdded(widget, 3), itemRemoved('widget', 3)], 0],
      ['for small prices', [created(), itemAdded(tenCents, 1), itemAdded(twentyCents, 1)], 30],
      ['at the largest line', [created(), itemAdded({ ...widget, unitPriceCents: 100_000_000 }, MAX_QUANTITY)], 100_000_000_000],
    ];

    test.each(steps)('%s', (_label, events, expectedTotal) => {
      const state = evolveAll(events);
      expect(state.totalCents).toBe(expectedTotal);
      expect(Number.isInteger(state.totalCents)).toBe(true);
      expect(state.totalCents).toBe(state.items.reduce((sum, l) => sum + l.unitPriceCents * l.quantity, 0));
    });
  });

  test('ShippingAddressChanged replaces the address', () => {
    expect(evolveAll([created(null), addressChanged(null, home), addressChanged(home, office)]).shippingAddress).toEqual(office);
  });

  describe('status transitions', () => {
    const transitions: Array<[string, OrderEvent[], OrderState['status']]> = [
      ['OrderCreated: NONE → PENDING', [created()], 'PENDING'],
      ['OrderPlaced: PENDING → PLACED', placedHistory, 'PLACED'],
      ['OrderCancelled: PENDING → CANCELLED', cancelledHistory, 'CANCELLED'],
      ['OrderCancelled: PLACED → CANCELLED', [...placedHistory, cancelled('late', 'PLACED')], 'CANCELLED'],
      ['OrderShipped → SHIPPED', shippedHistory, 'SHIPPED'],
      ['OrderExpired: PENDING → EXPIRED', expiredHistory, 'EXPIRED'],
    ];

    test.each(transitions)('%s', (_label, events, status) => {
      expect(evolveAll(events).status).toBe(status);
    });

    test('cart edits keep the order PENDING', () => {
      const state = evolveAll([
        created(null),
        itemAdded(widget, 1),
        quantityChanged('widget', 1, 2),
        itemAdded(gadget, 1),
        itemRemoved('gadget', 1),
        addressChanged(null, home),
      ]);
      expect(state.status).toBe('PENDING');
    });

    test('OrderPlaced records the checkout attempt and keeps the cart', () => {
      const state = evolveAll(placedHistory);
      expect(state).toMatchObject({ status: 'PLACED', checkoutAttempts: 1, items: [line(widget, 2)], totalCents: 2500 });
    });

    test('OrderCancelled records the reason', () => {
      expect(evolveAll(cancelledHistory).cancellationReason).toBe('changed my mind');
    });
  });

  test('evolve does not mutate the state it is given', () => {
    const before = evolveAll(pendingWithWidget);
    const snapshot = structuredClone(before);
    orderDecider.evolve(before, itemAdded(widget, 1));
    orderDecider.evolve(before, quantityChanged('widget', 2, 9));
    orderDecider.evolve(before, itemRemoved('widget', 2));
    orderDecider.evolve(before, placed([line(widget, 2)]));
    expect(before).toEqual(snapshot);
  });
});
