import { randomUUID } from 'node:crypto';
import { readStream } from '../../src/application/eventStore';
import type { OrderStory, StreamStory } from '../../src/operations/operatorViews';
import { operatorOrderCommandKey } from '../../src/operations/orderActions';
import { allProjections } from '../../src/projections';
import { orderWorkflowId } from '../../src/workflows/orderContract';
import { cartReadyToCheckOut } from '../operations/stranding';
import { runCli } from '../support/cli';
import { uniqueId, useTestApi } from '../support/harness';
import { sampleAddress } from '../support/orders';

/*
 * `npm run orders` and `npm run dead-letters` as an operator runs them: their own processes,
 * against the run's Postgres and Temporal, read by their exit codes and output.
 */
const app = useTestApi();
const orders = (...args: string[]) => runCli('orders', args);
const deadLetters = (...args: string[]) => runCli('deadLetters', args);

/** What operator_actions recorded on `target`, oldest first. */
async function actionsOn(target: string) {
  const { rows } = await app.pool.query('SELECT action, operator, reason, outcome FROM operator_actions WHERE target = $1 ORDER BY requested_at', [target]);
  return rows;
}

/** Until the order_summary projection has the customer's `count` orders (the projector runs in the shared worker). */
async function listedFor(customerId: string, count: number): Promise<void> {
  for (;;) {
    const { rows } = await app.pool.query('SELECT 1 FROM order_summary WHERE customer_id = $1', [customerId]);
    if (rows.length >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test('show: an order checked out, as text and as JSON; cancel with a reason is recorded in the event and operator_actions, and a second run changes nothing', async () => {
  const { orderId, customerId, productId } = await cartReadyToCheckOut(app.pool, app.admin);
  // A refusal stores no event: the actor's history is where it shows.
  expect(
    (await app.admin.PATCH('/orders/{orderId}/items/{productId}', { params: { path: { orderId, productId } }, body: { quantity: 5000 } })).response.status,
  ).toBe(422);
  expect((await app.admin.POST('/orders/{orderId}/checkout', { params: { path: { orderId }, query: { wait: 'true' } } })).data).toMatchObject({
    status: 'CONFIRMED',
    version: 6,
  });

  const text = await orders('show', orderId);
  expect(text).toMatchObject({ code: 0, stderr: '' });
  expect(text.stdout).toContain(`order ${orderId}: CONFIRMED at version 6, customer ${customerId}, total 30.00`);
  expect(text.stdout).toMatch(/\n {2}v3 \S+ OrderPlaced \[client:\S+\]\n {6}status: "PENDING" → "PLACED"\n/);
  expect(text.stdout).toContain(`#1 ${orderWorkflowId(orderId)}, total 30.00, placed at v3: succeeded`);
  expect(text.stdout).toContain('commands the actor answered (its current run):');
  expect(text.stdout).toMatch(/\n {2}\S+ ChangeItemQuantity \[\S+\] rejected [A-Z_]+: /);
  expect(text.stdout).toMatch(new RegExp(`\\n {2}\\S+ AddItem \\[add-${orderId}\\] accepted\\n`));

  const shown = await orders('show', orderId, '--json');
  const story = JSON.parse(shown.stdout) as OrderStory & { actorAnswers: { list: Array<{ command: string; outcome: string }> } };
  expect(story.actorAnswers.list).toContainEqual(expect.objectContaining({ command: 'ChangeItemQuantity', outcome: 'rejected' }));
  expect(story).toMatchObject({
    orderId,
    exists: true,
    version: 6,
    state: { status: 'CONFIRMED' },
    checkouts: [{ attempt: 1, outcome: { status: 'succeeded' } }],
  });
  expect(story.timeline.map((e) => e.type)).toEqual(['OrderCreated', 'OrderItemAdded', 'OrderPlaced', 'StockReserved', 'PaymentDebited', 'CheckoutSucceeded']);

  const cancelled = await orders('cancel', orderId, '--reason', 'the customer phoned: wrong address', '--actor', 'ops-alice', '--json');
  expect(cancelled).toMatchObject({ code: 0, stderr: '' });
  expect(JSON.parse(cancelled.stdout)).toMatchObject({
    orderId,
    action: 'cancel',
    outcome: 'done',
    status: 'CANCELLED',
    version: 7,
    doneBy: { operator: 'ops-alice', reason: 'the customer phoned: wrong address' },
  });
  // The stream records why, operator_actions who, when and why, as for the console's actions; the money came back first.
  const last = (await readStream(app.pool, `order-${orderId}`)).at(-1)!;
  expect(last).toMatchObject({
    type: 'OrderCancelled',
    data: { reason: 'the customer phoned: wrong address', previousStatus: 'CONFIRMED' },
    metadata: { commandId: `client:${operatorOrderCommandKey('cancel', 'the customer phoned: wrong address')}` },
  });
  expect(await actionsOn(`order-${orderId}`)).toEqual([
    { action: 'cancel', operator: 'ops-alice', reason: 'the customer phoned: wrong address', outcome: expect.objectContaining({ status: 'done' }) },
  ]);
  expect((await app.admin.GET('/accounts/{customerId}', { params: { path: { customerId }, query: { consistency: 'strong' } } })).data!.balanceCents).toBe(
    10_000,
  );

  // Again, by someone else: nothing more happens, and it says who did it and why.
  const again = await orders('cancel', orderId, '--reason', 'duplicate ticket', '--actor', 'ops-bob');
  expect(again).toMatchObject({ code: 0, stderr: '' });
  expect(again.stdout).toContain(`order ${orderId}: cancel ALREADY-DONE`);
  expect(again.stdout).toMatch(/\n {2}stream: CANCELLED at version 7, by ops-alice at \S+ \(the customer phoned: wrong address\)\n/);
  expect(await readStream(app.pool, `order-${orderId}`)).toHaveLength(7);
  // Each run is recorded, the second with what it found.
  expect(await actionsOn(`order-${orderId}`)).toEqual([
    expect.objectContaining({ operator: 'ops-alice' }),
    {
      action: 'cancel',
      operator: 'ops-bob',
      reason: 'duplicate ticket',
      outcome: { status: 'done', answer: expect.objectContaining({ outcome: 'already-done' }) },
    },
  ]);
  // The wallet the checkout debited and the cancel refunded, as its own stream.
  const wallet = await orders('stream', `account-${customerId}`);
  expect(wallet).toMatchObject({ code: 0, stderr: '' });
  const walletJson = JSON.parse((await orders('stream', `account-${customerId}`, '--json', '--limit', '2')).stdout) as StreamStory;
  expect(walletJson.timeline.map((e) => e.type)).toEqual(['AccountDebited', 'PaymentRefunded']);
  expect(walletJson).toMatchObject({ omitted: walletJson.version - 2, state: { balanceCents: 10_000 } });
  expect(wallet.stdout).toContain(`stream account-${customerId} (account ${customerId}) at version ${walletJson.version}`);
  expect(wallet.stdout).toMatch(new RegExp(`\\n {2}v${walletJson.version} \\S+ PaymentRefunded`));

  const after = await orders('show', orderId);
  expect(after.stdout).toMatch(
    /\noperator actions \(newest first\):\n {2}\S+ cancel by ops-bob \(duplicate ticket\): done\n {2}\S+ cancel by ops-alice \(the customer phoned: wrong address\): done\n$/,
  );
}, 120_000);

test('list: by customer and status, and --stuck finds the order whose actor is gone until it is healed; ship is refused, done, then done before', async () => {
  const customerId = uniqueId('cli-cust');
  const healthy = await cartReadyToCheckOut(app.pool, app.admin, { customerId });
  const stranded = await cartReadyToCheckOut(app.pool, app.admin, { customerId });
  await app.client.workflow.getHandle(orderWorkflowId(stranded.orderId)).terminate('test: the actor dies');
  await listedFor(customerId, 2);

  const all = await orders('list', '--customer', customerId, '--status', 'pending', '--json');
  expect(all.code).toBe(0);
  expect((JSON.parse(all.stdout) as { orders: Array<{ orderId: string }> }).orders.map((o) => o.orderId).sort()).toEqual(
    [healthy.orderId, stranded.orderId].sort(),
  );

  const stuck = await orders('list', '--customer', customerId, '--stuck', '--json');
  expect(stuck).toMatchObject({ code: 0, stderr: '' });
  const found = JSON.parse(stuck.stdout) as { orders: Array<{ orderId: string; stuck: string[] }>; next: string | null };
  expect(found).toEqual({ orders: [expect.objectContaining({ orderId: stranded.orderId, stuck: [expect.stringContaining(stranded.orderId)] })], next: null });
  const stuckText = await orders('list', '--customer', customerId, '--stuck');
  expect(stuckText.stdout).toMatch(new RegExp(`^${stranded.orderId}  PENDING  +${customerId}  30\\.00 \\(2 item\\(s\\)\\)  v2 .*\\n    stuck: `));

  const healed = await orders('heal', stranded.orderId, '--reason', 'actor lost in the outage', '--actor', 'ops-carol');
  expect(healed).toMatchObject({ code: 0, stdout: expect.stringContaining(`order ${stranded.orderId}: HEALED`) });
  expect(await actionsOn(`order-${stranded.orderId}`)).toEqual([
    {
      action: 'heal',
      operator: 'ops-carol',
      reason: 'actor lost in the outage',
      outcome: { status: 'done', answer: expect.objectContaining({ outcome: 'healed' }) },
    },
  ]);
  expect(await orders('list', '--customer', customerId, '--stuck')).toMatchObject({ code: 0, stdout: 'no stuck orders\n' });

  // Ship: refused for an order not confirmed; done once for a confirmed one, however often it runs.
  const notConfirmed = await orders('ship', stranded.orderId, '--reason', 'too early', '--json');
  expect(notConfirmed.code).toBe(1);
  expect(JSON.parse(notConfirmed.stdout)).toMatchObject({ outcome: 'refused', code: 'ORDER_NOT_CONFIRMED', status: 'PENDING' });
  expect((await app.admin.POST('/orders/{orderId}/checkout', { params: { path: { orderId: healthy.orderId }, query: { wait: 'true' } } })).data).toMatchObject({
    status: 'CONFIRMED',
  });
  const [shipped, shippedAgain] = [
    await orders('ship', healthy.orderId, '--reason', 'left the warehouse', '--actor', 'ops-dan'),
    await orders('ship', healthy.orderId, '--reason', 'left the warehouse', '--actor', 'ops-dan'),
  ];
  expect(shipped).toMatchObject({ code: 0, stdout: expect.stringContaining(`order ${healthy.orderId}: ship DONE`) });
  expect(shippedAgain).toMatchObject({ code: 0, stdout: expect.stringContaining(`order ${healthy.orderId}: ship ALREADY-DONE`) });
  expect((await readStream(app.pool, `order-${healthy.orderId}`)).map((e) => e.type).filter((t) => t === 'OrderShipped')).toHaveLength(1);

  // Paging: one at a time, the second page from the first's `next`.
  const first = JSON.parse((await orders('list', '--customer', customerId, '--limit', '1', '--json')).stdout) as { orders: unknown[]; next: string };
  const second = JSON.parse((await orders('list', '--customer', customerId, '--limit', '1', '--after', first.next, '--json')).stdout) as {
    orders: unknown[];
    next: string | null;
  };
  expect({ first: first.orders.length, second: second.orders.length, end: second.next }).toEqual({ first: 1, second: 1, end: null });
}, 120_000);

test('usage errors exit 2 with the usage; an unknown order or dead letter exits 3', async () => {
  const nobody = uniqueId('no-such-order');
  // Independent processes: run at once.
  const [unknownFlag, badStatus, unknownCommand, noId, noReason, badId, help, notShown, notShownJson, notCancelled, noLetter, yearZero, farYear] =
    await Promise.all([
      orders('list', '--status', 'PLACED', '--stuckk'),
      orders('list', '--status', 'LOST'),
      orders('frobnicate'),
      orders('show'),
      orders('cancel', 'some-order'),
      deadLetters('retry', 'seven'),
      orders('show', '--help'),
      orders('show', nobody),
      orders('show', nobody, '--json'),
      orders('cancel', nobody, '--reason', 'test'),
      deadLetters('retry', '2147483000'),
      // Dates Date.parse takes and Postgres does not (no year 0; six-digit years): usage errors, not a crash.
      orders('list', '--from', '0000-01-01'),
      orders('list', '--to', '+275760-09-13T00:00:00Z'),
    ]);
  expect(unknownFlag).toMatchObject({ code: 2, stdout: '' });
  expect(unknownFlag.stderr).toContain("Unknown option '--stuckk'");
  expect(unknownFlag.stderr).toContain('usage: npm run orders -- list');
  expect(badStatus).toMatchObject({ code: 2, stderr: expect.stringContaining('--status must be one of PENDING') });
  expect(unknownCommand).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown command frobnicate') });
  expect(noId).toMatchObject({ code: 2, stderr: expect.stringContaining('expected <orderId>') });
  expect(noReason).toMatchObject({ code: 2, stderr: expect.stringContaining('--reason is required') });
  expect(badId).toMatchObject({ code: 2, stderr: expect.stringContaining('<id> needs a whole number') });
  expect(help).toMatchObject({ code: 0, stdout: expect.stringContaining('usage: npm run orders -- show <orderId>') });
  expect(yearZero).toMatchObject({ code: 2, stderr: expect.stringContaining('--from needs a date or time from 1970 to 9999') });
  expect(farYear).toMatchObject({ code: 2, stderr: expect.stringContaining('--to needs a date or time from 1970 to 9999') });

  expect(notShown).toMatchObject({ code: 3, stdout: `order ${nobody}: not found\n` });
  expect(notShownJson).toMatchObject({ code: 3 });
  expect(JSON.parse(notShownJson.stdout)).toEqual({ orderId: nobody, exists: false });
  expect(notCancelled).toMatchObject({ code: 3, stdout: expect.stringContaining('NOT-FOUND') });
  expect(noLetter).toMatchObject({ code: 3, stdout: expect.stringContaining('not found') });
}, 120_000);

test('dead-letters: a parked event is listed, applies on retry and leaves the list; a second retry finds nothing', async () => {
  // An event the order summary handles, parked as if its handler had failed on it.
  const customerId = uniqueId('dl-cust');
  const orderId = uniqueId('dl-order');
  expect(
    (
      await app.admin.POST('/orders', {
        params: { header: { 'Idempotency-Key': randomUUID() } },
        body: { orderId, customerId, shippingAddress: sampleAddress },
      })
    ).response.status,
  ).toBe(201);
  const [created] = await readStream(app.pool, `order-${orderId}`);
  const projection = allProjections[0]!.name;
  const { rows } = await app.pool.query<{ id: string }>(
    `INSERT INTO dead_letters (projection, event_id, stream_id, version, global_position, event_type, error, attempts)
     VALUES ($1, $2, $3, $4, $5, $6, 'test: the handler failed', 3) RETURNING id`,
    [projection, created!.eventId, created!.streamId, created!.version, created!.globalPosition, created!.type],
  );
  const id = rows[0]!.id;

  const listed = await deadLetters('list', '--projection', projection, '--json');
  expect(listed.code).toBe(0);
  expect((JSON.parse(listed.stdout) as { deadLetters: Array<{ id: number }> }).deadLetters).toContainEqual(
    expect.objectContaining({ id: Number(id), streamId: `order-${orderId}`, error: 'test: the handler failed', attempts: 3 }),
  );
  expect((await deadLetters('list', '--projection', projection)).stdout).toContain(`#${id} ${projection}: OrderCreated order-${orderId}@1`);

  const readSide = await deadLetters('status');
  expect(readSide.code).toBe(0);
  expect(readSide.stdout).toMatch(new RegExp(`^${projection}: (running|stopped|rebuilding), at position \\d+ .*, \\d+ parked`, 'm'));
  expect(readSide.stdout).toContain(`#${id} ${projection}: OrderCreated order-${orderId}@1`);

  const retried = await deadLetters('retry', id, '--reason', 'handler fixed', '--actor', 'ops-dave');
  expect(retried).toMatchObject({ code: 0, stdout: expect.stringContaining(`dead letter #${id}: APPLIED (by ops-dave)`) });
  expect(await app.pool.query('SELECT 1 FROM dead_letters WHERE id = $1', [id])).toMatchObject({ rowCount: 0 });
  expect(await deadLetters('retry', id, '--json', '--actor', 'ops-erin')).toMatchObject({ code: 3 });
  expect(await actionsOn(`dead-letter-${id}`)).toEqual([
    {
      action: 'retry-dead-letter',
      operator: 'ops-dave',
      reason: 'handler fixed',
      outcome: { status: 'done', answer: expect.objectContaining({ outcome: 'applied' }) },
    },
    {
      action: 'retry-dead-letter',
      operator: 'ops-erin',
      reason: '',
      outcome: { status: 'refused', problem: expect.objectContaining({ code: 'DEAD_LETTER_NOT_FOUND' }) },
    },
  ]);
}, 120_000);
