import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Pool } from '../../src/db/pool';
import {
  anyFailed,
  checkCheckouts,
  CHECKOUT_FORWARD_STEP_MS,
  CHECKOUT_UNDO_STEP_MS,
  checkoutDeadlineMs,
  checkOrderWorkflows,
  formatReport,
  runInvariants,
} from '../../src/invariants';
import { commandSignals, orderWorkflowId } from '../../src/workflows/orderContract';
import { sampleAddress } from '../support/orders';
import { testClient, testPool, uniqueId } from '../support/harness';
import { cartReadyToCheckOut, gate, startTestWorker, strandingBundle, waitForWorkflow } from '../operations/stranding';
import { currentSchemaVersion } from '../../src/domain/eventSchemas';

let client: Client;
let pool: Pool;

beforeAll(async () => {
  client = await testClient();
  pool = testPool(6);
});

afterAll(async () => {
  await client.connection.close();
  await pool.end();
});

const onlyOrder = (orderId: string) => ({ streamIds: [`order-${orderId}`] });

test("the checkout deadline is the saga's retry budget, local attempts then regular: 111.8 s per forward step, 158 s per undo, two 30 s handoffs", () => {
  expect(CHECKOUT_FORWARD_STEP_MS).toBe(111_800);
  expect(CHECKOUT_UNDO_STEP_MS).toBe(158_000);
  expect(checkoutDeadlineMs(1)).toBe(3 * 111_800 + 2 * 158_000 + 60_000);
  expect(checkoutDeadlineMs(3)).toBe(7 * 111_800 + 4 * 158_000 + 60_000);
});

test('a checkout in flight in its actor is not flagged; once the actor is terminated (and the saga in it) the order is stranded and reported', async () => {
  const reserving = gate();
  const worker = await startTestWorker({ client, pool }, { activities: { reserveStock: () => reserving.block() } });
  try {
    const { orderId } = await cartReadyToCheckOut(pool, worker.api);
    expect((await worker.api.POST('/orders/{orderId}/checkout', { params: { path: { orderId } } })).data).toMatchObject({ status: 'PLACED' });
    await reserving.entered;

    const inFlight = await checkCheckouts(pool, client, onlyOrder(orderId));
    expect(inFlight).toMatchObject({ id: '6', status: 'PASS', checked: 1, counts: { inFlight: 1 } });
    expect(inFlight.notes).toEqual([expect.stringContaining(`order ${orderId}: checkout attempt 1 in flight`)]);

    // The actor dies mid-checkout, and the saga it runs with it.
    await client.workflow.getHandle(orderWorkflowId(orderId)).terminate('test: the actor dies mid-checkout');

    // What `npm run check:invariants` prints: the order, its attempt, and what is wrong.
    const results = await runInvariants({ db: pool, client, filter: onlyOrder(orderId) });
    expect(anyFailed(results)).toBe(true);
    expect(formatReport(results)).toMatch(
      new RegExp(
        `\\n6\\. no stranded checkout.*: FAIL\\n  FAIL order ${orderId} \\(checkout attempt 1\\): no saga workflow checkout-${orderId}-1 ` +
          '\\(since checkout-in-actor the saga runs in the actor\\), and the order never recorded an outcome; actor TERMINATED\\n',
      ),
    );
    expect(results[5]).toMatchObject({ status: 'FAIL', violationCount: 1, counts: { stranded: 1 } });
  } finally {
    reserving.open();
    await worker.stop();
  }
});

test('an order PLACED for longer than its checkout can take is flagged, with every fact that is wrong', async () => {
  const orderId = uniqueId('long-placed');
  const streamId = `order-${orderId}`;
  const db = await pool.connect();
  const insert = (version: number, type: string, data: unknown) =>
    db.query(
      `INSERT INTO events (stream_id, stream_type, version, event_id, type, schema_version, data, occurred_at, recorded_at)
       VALUES ($1, 'order', $2, $3, $4, $5, $6, now() - interval '2 hours', now() - interval '2 hours')`,
      [streamId, version, randomUUID(), type, currentSchemaVersion('order', type), JSON.stringify(data)],
    );
  try {
    // Session-local copies of the two tables (temporary tables come first on the search path):
    // nobody else ever sees this order, and no transaction is held open while the checker runs,
    // which would hold back every projector of the suite (they read below the oldest open one).
    await db.query('CREATE TEMP TABLE streams (LIKE public.streams INCLUDING ALL)');
    await db.query('CREATE TEMP TABLE events (LIKE public.events INCLUDING ALL)');
    await db.query(`INSERT INTO streams (stream_id, stream_type, version) VALUES ($1, 'order', 3)`, [streamId]);
    const line = { productId: 'p-1', name: 'Kettle', unitPriceCents: 1500, quantity: 1 };
    await insert(1, 'OrderCreated', { orderId, customerId: 'c-1', shippingAddress: sampleAddress });
    await insert(2, 'OrderItemAdded', { ...line, lineTotalCents: 1500 });
    await insert(3, 'OrderPlaced', { checkoutAttempt: 1, totalCents: 1500, items: [line] });

    const result = await checkCheckouts(db, client, onlyOrder(orderId));
    expect(result.violations).toEqual([
      expect.stringMatching(
        new RegExp(
          `^order ${orderId} \\(checkout attempt 1\\): PLACED for 7\\d{3} s, past the checkout's deadline of 711 s \\(1 line\\(s\\)\\); ` +
            `no saga workflow checkout-${orderId}-1 \\(since checkout-in-actor the saga runs in the actor\\), and the order never recorded an outcome; actor missing$`,
        ),
      ),
    ]);
  } finally {
    await db.query('DROP TABLE IF EXISTS pg_temp.events, pg_temp.streams');
    db.release();
  }
});

describe('invariant 4 tells a stranded actor from a slow one', () => {
  test('an actor whose workflow task keeps failing is a violation naming the failure, not "could not read"', async () => {
    const worker = await startTestWorker({ client, pool }, { workflowBundle: await strandingBundle() });
    try {
      const { orderId } = await cartReadyToCheckOut(pool, worker.api);
      await client.workflow.getHandle(orderWorkflowId(orderId)).signal(commandSignals.RemoveItem, { commandId: 'strand', productId: 'none' });
      await waitForWorkflow(client, orderWorkflowId(orderId), (c) => c.state === 'running' && c.failingTask !== null);

      const result = await checkOrderWorkflows(pool, client, onlyOrder(orderId));
      expect(result).toMatchObject({ status: 'FAIL', violationCount: 1, counts: { stranded: 1 } });
      expect(result.violations[0]).toMatch(
        new RegExp(
          `^order ${orderId}: stranded, actor running, its workflow task failing \\(attempt \\d+, WORKFLOW_WORKER_UNHANDLED_FAILURE: simulated stranding`,
        ),
      );
      await client.workflow.getHandle(orderWorkflowId(orderId)).terminate('test done');
    } finally {
      await worker.stop();
    }
  }, 120_000);

  test('an actor that answers only after its worker comes back is asked again with backoff, and passes', async () => {
    const first = await startTestWorker({ client, pool });
    const { orderId } = await cartReadyToCheckOut(pool, first.api);
    await first.stop();
    // Nobody polls the order's queue now, so each try's query meets its 1 s deadline; the worker
    // comes back on the same queue after a few of them.
    const check = checkOrderWorkflows(pool, client, onlyOrder(orderId), { callTimeoutMs: 1000, readAttempts: 8 });
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const second = await startTestWorker({ client, pool }, { taskQueue: first.taskQueue });
    try {
      const result = await check;
      expect(result).toMatchObject({ status: 'PASS', checked: 1, violationCount: 0, counts: { answeredAfterRetries: 1 } });
      expect(result.notes).toEqual([expect.stringMatching(new RegExp(`^order ${orderId}: answered on try [2-8], after`))]);
    } finally {
      await second.stop();
    }
  }, 120_000);
});
