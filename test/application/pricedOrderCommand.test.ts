import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { handleCommand } from '../../src/application/handleCommand';
import { readStream } from '../../src/application/eventStore';
import {
  decidePricedOrderCommand,
  type PricedOrderCommandInput,
  type PricedOrderCommandResult,
  type UnpricedOrderCommand,
} from '../../src/application/pricedOrderCommand';
import type { Pool } from '../../src/db/pool';
import { currentSchemaVersion } from '../../src/domain/eventSchemas';
import { decideOrder, evolveOrder, initialOrderState, MAX_ORDER_TOTAL_CENTS, ORDER_STREAM_TYPE, orderStreamId, type OrderEvent } from '../../src/domain/order';
import { MAX_PRICE_CENTS, productDecider, productStreamId } from '../../src/domain/product';
import { appendToStream } from '../../src/eventstore';
import { createProduct, testPool, uniqueId } from '../support/harness';

/*
 * AddItem and PlaceOrder in one step: looked up, decided and stored by one activity. An activity
 * may run again after an attempt that stored its event (a worker killed before it reported, a
 * local attempt timed out), and the catalog may have changed in between. Whatever it says then,
 * the step answers what was stored.
 */

let pool: Pool;
beforeAll(() => {
  pool = testPool(4);
});
afterAll(() => pool.end());

const address = { name: 'Ada', line1: '1 Loop St', city: 'Turin', postalCode: '10100', country: 'IT' };

/** An order created with an address and, for PlaceOrder, one line of `productId` at `priceCents`: its state and version. */
async function seedOrder(orderId: string, line?: { productId: string; priceCents: number; quantity: number }) {
  let state = initialOrderState;
  const events: OrderEvent[] = [];
  const decide = (command: Parameters<typeof decideOrder>[0]) => {
    const decided = decideOrder(command, state);
    state = decided.reduce(evolveOrder, state);
    events.push(...decided);
  };
  decide({ type: 'CreateOrder', orderId, customerId: 'c-priced', shippingAddress: address });
  if (line) decide({ type: 'AddItem', productId: line.productId, quantity: line.quantity, product: { name: 'Lamp', unitPriceCents: line.priceCents } });
  const stored = events.map((e) => ({ eventId: randomUUID(), type: e.type, data: e.data, occurredAt: new Date() }));
  await appendToStream(pool, orderStreamId(orderId), ORDER_STREAM_TYPE, 'no_stream', stored);
  return { state, version: events.length };
}

/** An attempt with time to spare. */
const decide = (input: PricedOrderCommandInput) => decidePricedOrderCommand(pool, input, { deadline: Date.now() + 60_000 });

const reprice = (productId: string, priceCents: number) =>
  handleCommand(
    pool,
    productDecider,
    { id: productStreamId(productId), type: 'product' },
    { type: 'RepriceProduct', priceCents },
    {
      newEventId: randomUUID,
      now: () => new Date(),
    },
  );

/** Prices small and large: some totals pass the cap (quantity up to 20 at up to MAX_PRICE_CENTS), most do not. */
const price = fc.oneof(fc.integer({ min: 0, max: 5_000 }), fc.integer({ min: 0, max: MAX_PRICE_CENTS }));

const scenario = fc.record({
  command: fc.constantFrom('AddItem', 'PlaceOrder'),
  firstPrice: price,
  quantity: fc.integer({ min: 1, max: 20 }),
  /** PlaceOrder with the total the client saw (PRICES_CHANGED once it moves), or without one. */
  approvesTotal: fc.boolean(),
  /** The catalog's price before each attempt after the first. */
  laterPrices: fc.array(price, { minLength: 1, maxLength: 3 }),
});

test('every attempt after one that stored its event answers that event, however the catalog changed; a refusal stores nothing', async () => {
  await fc.assert(
    fc.asyncProperty(scenario, async ({ command: type, firstPrice, quantity, approvesTotal, laterPrices }) => {
      const productId = await createProduct(pool, 'Lamp', firstPrice);
      const orderId = uniqueId('priced');
      const placing = type === 'PlaceOrder';
      const { state, version } = await seedOrder(orderId, placing ? { productId, priceCents: firstPrice, quantity } : undefined);
      const command: UnpricedOrderCommand = placing
        ? { type, maxTotalCents: MAX_ORDER_TOTAL_CENTS, ...(approvesTotal ? { expectedTotalCents: state.totalCents } : {}) }
        : { type, productId, quantity, maxTotalCents: MAX_ORDER_TOTAL_CENTS };
      const input: PricedOrderCommandInput = {
        orderId,
        state,
        version,
        command,
        event: { eventId: randomUUID(), occurredAt: new Date().toISOString(), metadata: { commandId: 'client:priced' } },
      };

      const storedAfter = async () => readStream(pool, orderStreamId(orderId), { fromVersion: version + 1 });
      // The first accepted answer is what every later attempt must answer; until then each attempt
      // decides afresh, and a refusal leaves the stream as it was.
      let pinned: Extract<PricedOrderCommandResult, { status: 'accepted' }> | undefined;
      for (const catalogPrice of [undefined, ...laterPrices]) {
        if (catalogPrice !== undefined) await reprice(productId, catalogPrice);
        const answer = await decide(input);
        if (pinned) expect(answer).toEqual(pinned);
        else if (answer.status === 'accepted') pinned = answer;
        else expect(await storedAfter()).toEqual([]);
      }
      if (!pinned) return;
      expect(pinned).toMatchObject({ version: version + 1, events: [{ type: placing ? 'OrderPlaced' : 'OrderItemAdded' }] });
      const stored = (await storedAfter()).map((e) => ({ eventId: e.eventId, type: e.type, data: e.data }));
      expect(stored).toEqual([{ eventId: input.event.eventId, ...pinned.events[0]! }]);
    }),
    { numRuns: 30 },
  );
});

test('a product the catalog does not know is refused, and the refusal stores nothing', async () => {
  const orderId = uniqueId('priced-unknown');
  const { state, version } = await seedOrder(orderId);
  const answer = await decide({
    orderId,
    state,
    version,
    command: { type: 'AddItem', productId: randomUUID(), quantity: 1, maxTotalCents: MAX_ORDER_TOTAL_CENTS },
    event: { eventId: randomUUID(), occurredAt: new Date().toISOString(), metadata: {} },
  });
  expect(answer).toMatchObject({ status: 'rejected', code: 'PRODUCT_NOT_FOUND' });
  expect(await readStream(pool, orderStreamId(orderId), { fromVersion: version + 1 })).toEqual([]);
});

/** An order with an address and no line, and an AddItem of 2 of a new product at 500 cents for it. */
async function addingTwoLamps() {
  const productId = await createProduct(pool, 'Lamp', 500);
  const orderId = uniqueId('priced-overlap');
  const { state, version } = await seedOrder(orderId);
  const input: PricedOrderCommandInput = {
    orderId,
    state,
    version,
    command: { type: 'AddItem', productId, quantity: 2, maxTotalCents: MAX_ORDER_TOTAL_CENTS },
    event: { eventId: randomUUID(), occurredAt: new Date().toISOString(), metadata: { commandId: 'client:overlap' } },
  };
  return { productId, orderId, input };
}

test('an attempt that overlaps an earlier one still storing waits for it and answers its event, though the catalog now refuses the command', async () => {
  const { productId, orderId, input } = await addingTwoLamps();
  const streamId = orderStreamId(orderId);
  // The earlier attempt, timed out but still running: it holds the stream and has appended, not yet committed.
  const earlier = await pool.connect();
  await earlier.query('BEGIN');
  await earlier.query('SELECT 1 FROM streams WHERE stream_id = $1 FOR UPDATE', [streamId]);
  const data = { productId, name: 'Lamp', unitPriceCents: 500, quantity: 2, lineTotalCents: 1000 };
  await appendToStream(earlier, streamId, ORDER_STREAM_TYPE, input.version, [
    { ...input.event, type: 'OrderItemAdded', data, schemaVersion: currentSchemaVersion(ORDER_STREAM_TYPE, 'OrderItemAdded') },
  ]);
  // Meanwhile the price rises past what an order may total: decided now, the add is refused.
  await reprice(productId, MAX_PRICE_CENTS);
  const next = decide(input);
  const settled = await Promise.race([next.then(() => 'answered'), new Promise((resolve) => setTimeout(() => resolve('waiting'), 300))]);
  expect(settled).toBe('waiting');
  await earlier.query('COMMIT');
  earlier.release();
  expect(await next).toEqual({ status: 'accepted', version: input.version + 1, events: [{ type: 'OrderItemAdded', data }] });
});

test('an attempt past its deadline stores nothing, so the attempt after it decides afresh', async () => {
  const { orderId, input } = await addingTwoLamps();
  await expect(decidePricedOrderCommand(pool, input, { deadline: 0 })).rejects.toThrow(/past its deadline/);
  expect(await readStream(pool, orderStreamId(orderId), { fromVersion: input.version + 1 })).toEqual([]);
  expect(await decide(input)).toMatchObject({ status: 'accepted', version: input.version + 1 });
});

test('an attempt that finds the stream held past its own deadline gives up its connection then, rather than queueing behind the holder', async () => {
  const { orderId, input } = await addingTwoLamps();
  const holder = await pool.connect();
  try {
    await holder.query('BEGIN');
    await holder.query('SELECT 1 FROM streams WHERE stream_id = $1 FOR UPDATE', [orderStreamId(orderId)]);
    const started = Date.now();
    await expect(decidePricedOrderCommand(pool, input, { deadline: started + 300 })).rejects.toThrow(/lock timeout/);
    expect(Date.now() - started).toBeLessThan(5_000);
  } finally {
    await holder.query('ROLLBACK');
    holder.release();
  }
  expect(await decide(input)).toMatchObject({ status: 'accepted', version: input.version + 1 });
});
