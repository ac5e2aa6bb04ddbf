import fc from 'fast-check';
import { decideOrder, evolveOrder, initialOrderState, ORDER_STREAM_TYPE, type OrderEvent } from '../../src/domain/order';
import { orderUpcasters, type OrderItemAddedV1 } from '../../src/domain/orderUpcasters';
import { currentSchemaVersion, eventSchemas } from '../../src/domain/eventSchemas';

const stored = (type: string, schemaVersion: number, data: unknown) => ({ streamType: ORDER_STREAM_TYPE, type, schemaVersion, data });

test('OrderItemAdded is at schema version 2; the other order events are still at 1', () => {
  expect(currentSchemaVersion(ORDER_STREAM_TYPE, 'OrderItemAdded')).toBe(2);
  expect(currentSchemaVersion(ORDER_STREAM_TYPE, 'OrderCreated')).toBe(1);
  expect(currentSchemaVersion(ORDER_STREAM_TYPE, 'OrderPlaced')).toBe(1);
  expect(orderUpcasters).toHaveLength(1);
});

test('a v1 OrderItemAdded gains lineTotalCents = unitPriceCents × quantity of that event', () => {
  const v1: OrderItemAddedV1 = { productId: 'p-1', name: 'Mug', unitPriceCents: 1250, quantity: 3 };
  expect(eventSchemas.upcast(stored('OrderItemAdded', 1, v1))).toEqual(
    stored('OrderItemAdded', 2, { productId: 'p-1', name: 'Mug', unitPriceCents: 1250, quantity: 3, lineTotalCents: 3750 }),
  );
});

test('the upcaster derives exactly what the decider emits today: an upcast v1 event equals a freshly decided one', () => {
  const created = decideOrder({ type: 'CreateOrder', orderId: 'o-1', customerId: 'c-1' }, initialOrderState);
  const pending = created.reduce(evolveOrder, initialOrderState);
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 10_000_000 }), fc.integer({ min: 1, max: 1000 }), (unitPriceCents, quantity) => {
      const [decided] = decideOrder({ type: 'AddItem', productId: 'p', quantity, product: { name: 'P', unitPriceCents } }, pending);
      const { lineTotalCents, ...v1 } = (decided as Extract<OrderEvent, { type: 'OrderItemAdded' }>).data;
      const upcast = eventSchemas.upcast(stored('OrderItemAdded', 1, v1));
      expect(upcast.data).toEqual(decided!.data);
      expect(Number.isSafeInteger(lineTotalCents)).toBe(true);
    }),
  );
});

test('a v2 OrderItemAdded is read as stored, and so are events of other streams with the same name', () => {
  const v2 = stored('OrderItemAdded', 2, { productId: 'p', name: 'P', unitPriceCents: 5, quantity: 2, lineTotalCents: 10 });
  expect(eventSchemas.upcast(v2)).toBe(v2);
  const foreign = { ...stored('OrderItemAdded', 1, { productId: 'p' }), streamType: 'legacy-cart' };
  expect(eventSchemas.upcast(foreign)).toBe(foreign);
});
