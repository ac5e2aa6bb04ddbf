import fc from 'fast-check';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { Pool } from '../../src/db/pool';
import { orderDecider, orderStreamId } from '../../src/domain/order';
import { commandUpdates, getOrderQuery, type OrderCommandInput, type OrderCommandName } from '../../src/workflows/orderContract';
import type { orderWorkflow } from '../../src/workflows/order';
import { createProduct, testClient, testPool, uniqueId } from '../support/harness';
import { sampleAddress, startOrderActor } from '../support/orders';
import { readStream } from '../../src/application/eventStore';
import { foldRecorded } from '../../src/application/foldStream';

let client: Client;
let pool: Pool;
let products: string[];

beforeAll(async () => {
  client = await testClient();
  pool = testPool();
  products = [await createProduct(pool, 'Kettle', 4500), await createProduct(pool, 'Cup', 799), 'not-in-catalog'];
});

afterAll(async () => {
  await client.connection.close();
  await pool.end();
});

type Step = { [N in OrderCommandName]: { name: N; payload: Omit<OrderCommandInput<N>, 'commandId'> } }[OrderCommandName];

/** Commands an impatient shopper might send, valid or not, in any order. */
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    name: fc.constant('AddItem' as const),
    payload: fc.record({ productId: fc.integer({ min: 0, max: 2 }).map((i) => products[i]!), quantity: fc.integer({ min: -1, max: 1200 }) }),
  }),
  fc.record({
    name: fc.constant('ChangeItemQuantity' as const),
    payload: fc.record({ productId: fc.integer({ min: 0, max: 1 }).map((i) => products[i]!), quantity: fc.integer({ min: 0, max: 1001 }) }),
  }),
  fc.record({ name: fc.constant('RemoveItem' as const), payload: fc.record({ productId: fc.integer({ min: 0, max: 1 }).map((i) => products[i]!) }) }),
  fc.constant({ name: 'ChangeShippingAddress' as const, payload: { address: sampleAddress } }),
  fc.constant({ name: 'PlaceOrder' as const, payload: {} }),
  fc.constant({ name: 'CancelOrder' as const, payload: { reason: 'changed my mind' } }),
  fc.constant({ name: 'MarkShipped' as const, payload: {} }),
);

async function send(handle: WorkflowHandle<typeof orderWorkflow>, step: Step, commandId: string): Promise<void> {
  try {
    await handle.executeUpdate(commandUpdates[step.name], { args: [{ ...step.payload, commandId }] });
  } catch (err) {
    // Rejections are part of the sequence; anything else is a failure of the test.
    if (!(err instanceof WorkflowUpdateFailedError)) throw err;
  }
}

/** The actor's view once no checkout saga is running (it records its report on its own). */
async function settledView(handle: WorkflowHandle<typeof orderWorkflow>) {
  for (;;) {
    if ((await handle.describe()).status.name !== 'RUNNING') return handle.result();
    const view = await handle.query(getOrderQuery);
    if (view.state.status !== 'PLACED') return view;
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('after every command, folding the order stream from Postgres gives exactly the state the workflow reports', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 10 }), async (steps) => {
      const orderId = uniqueId('equiv');
      const handle = await startOrderActor(client, orderId);
      await handle.executeUpdate(commandUpdates.CreateOrder, { args: [{ commandId: 'create', orderId, customerId: 'c-eq' }] });
      for (const [i, step] of steps.entries()) {
        await send(handle, step, `cmd-${i}`);
        const workflowView = await settledView(handle);
        const running = (await handle.describe()).status.name === 'RUNNING';
        const events = await readStream(pool, orderStreamId(orderId));
        expect(workflowView.version).toBe(events.length);
        expect(foldRecorded(orderDecider, events)).toEqual(workflowView.state);
        if (!running) break; // a finished order takes no more commands (the API answers ORDER_CLOSED)
      }
    }),
    { numRuns: 8, seed: 20261122 },
  );
});
