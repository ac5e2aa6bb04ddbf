import { createActivities } from '../../src/activities';
import { anyFailed, formatReport, runInvariants } from '../../src/invariants';
import { healOrder, type HealOptions, type HealReport } from '../../src/operations/healOrder';
import { commandSignals, orderWorkflowId } from '../../src/workflows/orderContract';
import { runCli } from '../support/cli';
import { statusAndBody, testEnv, useTestApi } from '../support/harness';
import { cartReadyToCheckOut, gate, startTestWorker, strandingBundle, waitForWorkflow } from './stranding';
import { readStream } from '../../src/application/eventStore';

/** The API on the shared worker's queue: where healed actors run, and where orders are used after. */
const app = useTestApi({ poolSize: 10 });
const actors = () => ({ taskQueue: testEnv.taskQueue, cartTtlMs: 30 * 60_000, historyLimit: 2000 });
const heal = (orderId: string, options?: HealOptions) => healOrder({ db: app.pool, client: app.client, actors: actors() }, orderId, options);

const eventTypes = async (orderId: string) => (await readStream(app.pool, `order-${orderId}`)).map((e) => e.type);

/** The checker of check:invariants over one scenario's streams: clean, or the report says why not. */
async function expectInvariantsHold(streamIds: string[]): Promise<void> {
  const results = await runInvariants({ db: app.pool, client: app.client, filter: { streamIds } });
  expect({ failed: anyFailed(results), report: formatReport(results) }).toEqual({ failed: false, report: expect.any(String) });
}

test('an actor terminated mid-cart is healed: commands work again, the version goes on from the stream, a retried key answers its first answer', async () => {
  const { orderId, productId, streamIds } = await cartReadyToCheckOut(app.pool, app.admin);
  await app.client.workflow.getHandle(orderWorkflowId(orderId)).terminate('test: the actor dies mid-cart');
  // Stranded: the order takes no command until an operator brings it back.
  expect(
    statusAndBody(await app.admin.PATCH('/orders/{orderId}/items/{productId}', { params: { path: { orderId, productId } }, body: { quantity: 3 } })),
  ).toMatchObject({
    status: 503,
    body: { code: 'ORDER_UNAVAILABLE' },
  });

  const healed = await heal(orderId);
  expect(healed).toMatchObject({ outcome: 'healed', retryLater: false, stream: { status: 'PENDING', version: 2 }, actorBefore: 'TERMINATED' });
  expect(healed.actions).toEqual([expect.stringMatching(/^started run .+ carrying version 2 and 2 accepted client command\(s\)$/)]);

  // The add from before the heal, retried with its key: its first answer, acted once.
  const retried = await app.admin.POST('/orders/{orderId}/items', {
    params: { path: { orderId }, header: { 'Idempotency-Key': `add-${orderId}` } },
    body: { productId, quantity: 2 },
  });
  expect(statusAndBody(retried)).toMatchObject({ status: 200, body: { version: 2, status: 'PENDING', events: ['OrderItemAdded'] } });
  // The same key for another request is still refused: the fingerprint came back too.
  const reused = await app.admin.POST('/orders/{orderId}/items', {
    params: { path: { orderId }, header: { 'Idempotency-Key': `add-${orderId}` } },
    body: { productId, quantity: 3 },
  });
  expect(statusAndBody(reused)).toMatchObject({ status: 422, body: { code: 'IDEMPOTENCY_KEY_REUSED' } });
  const changed = await app.admin.PATCH('/orders/{orderId}/items/{productId}', { params: { path: { orderId, productId } }, body: { quantity: 3 } });
  expect(statusAndBody(changed)).toMatchObject({ status: 200, body: { version: 3, status: 'PENDING' } });
  expect(await eventTypes(orderId)).toEqual(['OrderCreated', 'OrderItemAdded', 'OrderItemQuantityChanged']);

  // Healing again changes nothing.
  expect(await heal(orderId)).toMatchObject({ outcome: 'in-line', actions: [], stream: { version: 3 } });
  await expectInvariantsHold(streamIds);
});

test('an actor that died after its saga took stock and money but before recording it: the heal gives both back and records the attempt failed; the customer checks out again', async () => {
  const recording = gate();
  const real = createActivities(app.pool);
  const worker = await startTestWorker(
    { client: app.client, pool: app.pool },
    {
      activities: {
        appendOrderEvents: (input) => (input.events.some((e) => e.type.startsWith('Checkout')) ? recording.block() : real.appendOrderEvents(input)),
      },
    },
  );
  try {
    const { orderId, customerId, productId, streamIds } = await cartReadyToCheckOut(app.pool, worker.api);
    const placed = await worker.api.POST('/orders/{orderId}/checkout', { params: { path: { orderId }, header: { 'Idempotency-Key': `checkout-${orderId}` } } });
    expect(statusAndBody(placed)).toMatchObject({ status: 202, body: { version: 3, status: 'PLACED' } });
    // The saga ran in the actor (checkout-in-actor); its report dies with it.
    await recording.entered;
    await app.client.workflow.getHandle(orderWorkflowId(orderId)).terminate('test: the actor dies before recording its checkout');
    expect(anyFailed(await runInvariants({ db: app.pool, client: app.client, filter: { streamIds } }))).toBe(true);

    const healed = await heal(orderId);
    expect(healed).toMatchObject({ outcome: 'healed', stream: { status: 'PENDING', version: 4 }, actorBefore: 'TERMINATED' });
    expect(healed.actions).toEqual([
      `checkout attempt 1 ran in the replaced actor or never started (there is no workflow checkout-${orderId}-1): ` +
        `undid it (refund of payment ${orderId}-1, returned stock of ${productId}) and handed a failed report to the new actor`,
      expect.stringMatching(/carrying version 3/),
    ]);
    const balance = async () =>
      (await app.admin.GET('/accounts/{customerId}', { params: { path: { customerId }, query: { consistency: 'strong' } } })).data!.balanceCents;
    expect(await balance()).toBe(10_000);
    expect((await app.admin.GET('/inventory/{productId}', { params: { path: { productId } } })).data).toMatchObject({ onHand: 5, reserved: 0 });

    // The checkout retried with its key answers as it first did; a new key checks out again, and the order ships.
    const retried = await app.admin.POST('/orders/{orderId}/checkout', { params: { path: { orderId }, header: { 'Idempotency-Key': `checkout-${orderId}` } } });
    expect(statusAndBody(retried)).toMatchObject({ status: 202, body: { version: 3, status: 'PLACED' } });
    expect((await app.admin.POST('/orders/{orderId}/checkout', { params: { path: { orderId }, query: { wait: 'true' } } })).data).toMatchObject({
      status: 'CONFIRMED',
      checkoutAttempts: 2,
    });
    expect(await balance()).toBe(10_000 - 3000);
    expect(statusAndBody(await app.admin.POST('/orders/{orderId}/ship', { params: { path: { orderId } } }))).toMatchObject({
      status: 200,
      body: { status: 'SHIPPED' },
    });
    await expectInvariantsHold(streamIds);
  } finally {
    recording.open();
    await worker.stop();
  }
});

test('an actor whose saga hangs on a step is in line with its stream, so the heal leaves it until the checkout is overdue; then it replaces it and gives everything back', async () => {
  // The commit never answers: its local attempts time out, then its regular activity hangs.
  const committing = gate();
  const worker = await startTestWorker({ client: app.client, pool: app.pool }, { activities: { commitReservation: () => committing.block() } });
  try {
    const { orderId, customerId, productId, streamIds } = await cartReadyToCheckOut(app.pool, worker.api);
    expect(statusAndBody(await worker.api.POST('/orders/{orderId}/checkout', { params: { path: { orderId } } }))).toMatchObject({ status: 202 });
    await committing.entered;
    // Within the checkout's deadline (711 s for a line) the step may still succeed.
    expect(await heal(orderId)).toMatchObject({ outcome: 'in-line', actions: [] });

    const healed = await heal(orderId, { checkoutOverdueAfterMs: 0 });
    expect(healed).toMatchObject({ outcome: 'healed', stream: { status: 'PENDING', version: 4 } });
    expect(healed.actions).toEqual([
      expect.stringMatching(/^checkout attempt 1 has run in the actor for \d+ s, past its deadline of 0 s: replacing the actor$/),
      expect.stringMatching(/^terminated run /),
      expect.stringMatching(
        new RegExp(`^checkout attempt 1 ran in the replaced actor .*: undid it \\(refund of payment ${orderId}-1, released stock of ${productId}\\)`),
      ),
      expect.stringMatching(/^started run /),
    ]);
    expect((await app.admin.GET('/accounts/{customerId}', { params: { path: { customerId }, query: { consistency: 'strong' } } })).data!.balanceCents).toBe(
      10_000,
    );
    expect((await app.admin.GET('/inventory/{productId}', { params: { path: { productId } } })).data).toMatchObject({ onHand: 5, reserved: 0 });
    await expectInvariantsHold(streamIds);
  } finally {
    committing.open();
    await worker.stop();
  }
});

test('an actor whose workflow task keeps failing mid-checkout is replaced at once: the saga ran in it, so its attempt is undone and recorded failed', async () => {
  const reserving = gate();
  const real = createActivities(app.pool);
  const worker = await startTestWorker(
    { client: app.client, pool: app.pool },
    { workflowBundle: await strandingBundle(), activities: { reserveStock: (input) => reserving.pass(() => real.reserveStock(input)) } },
  );
  try {
    const { orderId, productId, streamIds } = await cartReadyToCheckOut(app.pool, worker.api);
    expect(statusAndBody(await worker.api.POST('/orders/{orderId}/checkout', { params: { path: { orderId } } }))).toMatchObject({
      status: 202,
      body: { status: 'PLACED' },
    });
    await reserving.entered;
    // The SDK ordering bug's effect, on purpose: the order's workflow task fails from now on.
    await app.client.workflow.getHandle(orderWorkflowId(orderId)).signal(commandSignals.RemoveItem, { commandId: `strand-${orderId}`, productId });
    await waitForWorkflow(app.client, orderWorkflowId(orderId), (c) => c.state === 'running' && c.failingTask !== null);

    const healed = await heal(orderId);
    expect(healed.actorBefore).toMatch(/^running, its workflow task failing \(attempt \d+, WORKFLOW_WORKER_UNHANDLED_FAILURE: simulated stranding/);
    expect(healed).toMatchObject({ outcome: 'healed', stream: { status: 'PENDING', version: 4 } });
    expect(healed.actions).toEqual([
      expect.stringMatching(/^terminated run /),
      expect.stringMatching(new RegExp(`^checkout attempt 1 ran in the replaced actor or never started .*: undid it \\(refund of payment ${orderId}-1, `)),
      expect.stringMatching(/^started run /),
    ]);
    reserving.open();
    // The signal that stranded it was never decided: it left no event, and the order checks out again and ships.
    expect((await app.admin.POST('/orders/{orderId}/checkout', { params: { path: { orderId }, query: { wait: 'true' } } })).data).toMatchObject({
      status: 'CONFIRMED',
    });
    expect(statusAndBody(await app.admin.POST('/orders/{orderId}/ship', { params: { path: { orderId } } }))).toMatchObject({
      status: 200,
      body: { status: 'SHIPPED' },
    });
    await expectInvariantsHold(streamIds);
  } finally {
    reserving.open();
    await worker.stop();
  }
}, 120_000);

test('an actor terminated mid-checkout: the heal undoes its attempt and records it failed; its late step finds the tombstone and takes nothing', async () => {
  const reserving = gate();
  const real = createActivities(app.pool);
  let lateReserve: Promise<unknown> | undefined;
  const worker = await startTestWorker(
    { client: app.client, pool: app.pool },
    {
      activities: {
        reserveStock: (input) => {
          const run = reserving.pass(() => real.reserveStock(input));
          lateReserve ??= run.catch((err: unknown) => err);
          return run;
        },
      },
    },
  );
  try {
    const { orderId, productId, streamIds } = await cartReadyToCheckOut(app.pool, worker.api);
    expect(statusAndBody(await worker.api.POST('/orders/{orderId}/checkout', { params: { path: { orderId } } }))).toMatchObject({
      status: 202,
      body: { status: 'PLACED' },
    });
    await reserving.entered;
    // The actor dies mid-checkout, and the saga in it, while a reserve is on its way.
    await app.client.workflow.getHandle(orderWorkflowId(orderId)).terminate('test: the actor dies mid-checkout');

    const healed = await heal(orderId);
    expect(healed).toMatchObject({ outcome: 'healed', stream: { status: 'PENDING', version: 4 } });
    expect(healed.actions[0]).toBe(
      `checkout attempt 1 ran in the replaced actor or never started (there is no workflow checkout-${orderId}-1): ` +
        `undid it (refund of payment ${orderId}-1, voided reservation of ${productId}) and handed a failed report to the new actor`,
    );
    const failed = (await readStream(app.pool, `order-${orderId}`)).at(-1);
    expect(failed).toMatchObject({ type: 'CheckoutFailed', data: { attempt: 1, code: 'CHECKOUT_ABORTED' } });

    // The dead saga's reserve lands now: refused, nothing held.
    reserving.open();
    expect(await lateReserve).toMatchObject({ type: 'RESERVATION_RELEASED' });
    expect((await app.admin.GET('/inventory/{productId}', { params: { path: { productId } } })).data).toMatchObject({ onHand: 5, reserved: 0 });

    // The customer checks out again, on the healed actor.
    expect((await app.admin.POST('/orders/{orderId}/checkout', { params: { path: { orderId }, query: { wait: 'true' } } })).data).toMatchObject({
      status: 'CONFIRMED',
      version: 8,
    });
    await expectInvariantsHold(streamIds);
  } finally {
    reserving.open();
    await worker.stop();
  }
});

describe('npm run orders -- heal', () => {
  const run = (args: string[]) => runCli('orders', ['heal', ...args]);

  test('heals a stranded order and says so in JSON (exit 0); an unknown order is not found (exit 3); bad arguments exit 2', async () => {
    const { orderId } = await cartReadyToCheckOut(app.pool, app.admin);
    await app.client.workflow.getHandle(orderWorkflowId(orderId)).terminate('test: the actor dies');

    const healed = await run([orderId, '--json']);
    expect(healed).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(healed.stdout) as HealReport).toMatchObject({ orderId, outcome: 'healed', stream: { status: 'PENDING', version: 2 } });

    const again = await run([orderId]);
    expect(again).toMatchObject({ code: 0, stdout: expect.stringContaining(`order ${orderId}: IN-LINE`) });

    const unknown = await run(['no-such-order', '--json']);
    expect(unknown.code).toBe(3);
    expect(JSON.parse(unknown.stdout)).toMatchObject({ outcome: 'refused', reason: 'ORDER_NOT_FOUND', retryLater: false });

    expect(await run([orderId, '--force'])).toMatchObject({ code: 2, stderr: expect.stringContaining("Unknown option '--force'") });
    expect(await run([])).toMatchObject({ code: 2, stderr: expect.stringContaining('expected <orderId>') });
  }, 120_000);
});
