import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import {
  anyFailed,
  checkMoney,
  checkReadModels,
  checkStock,
  checkStreamIntegrity,
  formatReport,
  runInvariants,
  type InvariantFilter,
} from '../../src/invariants';
import { createProduct, testEnv, uniqueId, useTestApi } from '../support/harness';
import { sampleAddress } from '../support/orders';

const app = useTestApi({ poolSize: 10 });

/** Only what this file created: the shared database holds other tests' streams, some mid-flight. */
const mine = { streamIds: [] as string[], customerIds: [] as string[] };
const filter = (): InvariantFilter => ({ streamIds: [...mine.streamIds], customerIds: [...mine.customerIds] });

async function productWithStock(name: string, priceCents: number, units: number): Promise<string> {
  const productId = await createProduct(app.pool, name, priceCents);
  mine.streamIds.push(`product-${productId}`, `stock-${productId}`);
  expect((await app.admin.POST('/products/{productId}/stock', { params: { path: { productId } }, body: { quantity: units } })).response.status).toBe(200);
  return productId;
}

async function customerWith(balanceCents: number): Promise<string> {
  const customerId = uniqueId('inv-cust');
  mine.customerIds.push(customerId);
  mine.streamIds.push(`account-${customerId}`);
  expect(
    (await app.admin.POST('/accounts/{customerId}/deposits', { params: { path: { customerId } }, body: { amountCents: balanceCents } })).response.status,
  ).toBe(200);
  return customerId;
}

async function cart(customerId: string, lines: Array<[string, number]>): Promise<string> {
  const orderId = uniqueId('inv-order');
  mine.streamIds.push(`order-${orderId}`);
  expect((await app.admin.POST('/orders', { body: { orderId, customerId, shippingAddress: sampleAddress } })).response.status).toBe(201);
  for (const [productId, quantity] of lines) {
    expect((await app.admin.POST('/orders/{orderId}/items', { params: { path: { orderId } }, body: { productId, quantity } })).response.status).toBe(200);
  }
  return orderId;
}

/** Until the projector has folded every stream this file wrote (no read model row lagging). */
async function readModelsCaughtUp(timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await checkReadModels(app.pool, filter());
    if (!result.counts.lagging) return;
    if (Date.now() > deadline) throw new Error(`read models still lagging: ${result.notes.join('; ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  // Happy path, then shipped: the actor completes, so invariant 4 compares its result.
  const mug = await productWithStock('Mug', 1250, 10);
  const alice = await customerWith(10_000);
  const happy = await cart(alice, [[mug, 2]]);
  expect((await app.admin.POST('/orders/{orderId}/checkout', { params: { path: { orderId: happy }, query: { wait: 'true' } } })).data).toMatchObject({
    status: 'CONFIRMED',
    totalCents: 2500,
  });
  expect((await app.admin.POST('/orders/{orderId}/ship', { params: { path: { orderId: happy } } })).data).toMatchObject({ status: 'SHIPPED' });

  // Out of stock: released, nothing debited, back to PENDING (still running: compared by query).
  const scarce = await productWithStock('Scarce', 500, 1);
  const bob = await customerWith(5_000);
  const short = await cart(bob, [
    [mug, 1],
    [scarce, 2],
  ]);
  expect((await app.admin.POST('/orders/{orderId}/checkout', { params: { path: { orderId: short }, query: { wait: 'true' } } })).data).toMatchObject({
    status: 'PENDING',
    lastCheckoutFailure: { code: 'INSUFFICIENT_STOCK' },
  });

  // Cancel after confirm: stock returned, payment refunded.
  const carol = await customerWith(4_000);
  const cancelled = await cart(carol, [[mug, 3]]);
  expect((await app.admin.POST('/orders/{orderId}/checkout', { params: { path: { orderId: cancelled }, query: { wait: 'true' } } })).data).toMatchObject({
    status: 'CONFIRMED',
  });
  expect(
    (await app.admin.POST('/orders/{orderId}/cancel', { params: { path: { orderId: cancelled } }, body: { reason: 'changed my mind' } })).data,
  ).toMatchObject({ status: 'CANCELLED' });

  // And one more confirmed order left open for carol, so her debits − refunds is not trivially 0.
  const open = await cart(carol, [[scarce, 1]]);
  expect((await app.admin.POST('/orders/{orderId}/checkout', { params: { path: { orderId: open }, query: { wait: 'true' } } })).data).toMatchObject({
    status: 'CONFIRMED',
    totalCents: 500,
  });

  await readModelsCaughtUp();
}, 120_000);

test("after real checkouts (happy, out of stock, cancel after confirm) every invariant holds for this file's streams", async () => {
  const results = await runInvariants({ db: app.pool, client: app.client, filter: filter(), workflows: { concurrency: 4 } });
  const report = formatReport(results);
  expect({ failed: anyFailed(results), report }).toEqual({ failed: false, report: expect.any(String) });
  expect(results.map((r) => [r.id, r.status])).toEqual([
    ['1', 'PASS'],
    ['2', 'PASS'],
    ['3', 'PASS'],
    ['4', 'PASS'],
    ['5', 'PASS'],
    ['6', 'PASS'],
  ]);

  const [stock, money, integrity, workflows, readModels, checkouts] = results;
  expect(stock!.checked).toBe(2); // two products' stock streams
  expect(money!.counts).toMatchObject({ accounts: 3, customers: 3 });
  expect(money!.counts.placed ?? 0).toBe(0);
  expect(integrity!.checked).toBe(mine.streamIds.length);
  expect(workflows!.checked).toBe(4);
  expect(workflows!.counts.workflowNotFound ?? 0).toBe(0);
  expect(readModels!.counts).toMatchObject({ orders: 4, accounts: 3, stock: 2 });
  expect(readModels!.counts.lagging ?? 0).toBe(0);
  expect(checkouts).toMatchObject({ checked: 4, counts: {} }); // none PLACED
});

test('without a Temporal client the workflow invariants are skipped with a note, not failed', async () => {
  const results = await runInvariants({ db: app.pool, filter: filter() });
  expect(results[3]).toMatchObject({ id: '4', status: 'SKIP', notes: [expect.stringContaining('no Temporal client')] });
  expect(results[5]).toMatchObject({ id: '6', status: 'SKIP', notes: [expect.stringContaining('no Temporal client')] });
  expect(anyFailed(results)).toBe(false);
});

test('corrupt scratch streams (an oversold stock, a hole, an overdrawn account) make their invariants FAIL', async () => {
  const productId = uniqueId('inv-scratch');
  const stockStream = `stock-${productId}`;
  const holeStream = `product-${uniqueId('inv-hole')}`;
  const customerId = uniqueId('inv-scratch-cust');
  const accountStream = `account-${customerId}`;
  const client = await app.pool.connect();
  const insert = (streamId: string, streamType: string, version: number, type: string, data: unknown) =>
    client.query(`INSERT INTO events (stream_id, stream_type, version, event_id, type, data, occurred_at) VALUES ($1, $2, $3, $4, $5, $6, now())`, [
      streamId,
      streamType,
      version,
      randomUUID(),
      type,
      JSON.stringify(data),
    ]);
  try {
    // Everything in one transaction that is rolled back: the projector and other tests never see it.
    await client.query('BEGIN');
    await client.query(`INSERT INTO streams (stream_id, stream_type, version) VALUES ($1, 'stock', 3), ($2, 'product', 3), ($3, 'account', 3)`, [
      stockStream,
      holeStream,
      accountStream,
    ]);
    // 2 on hand, a reservation of 3 (reserved > onHand), committed: onHand −1.
    await insert(stockStream, 'stock', 1, 'StockRestocked', { quantity: 2 });
    await insert(stockStream, 'stock', 2, 'StockReserved', { reservationId: 'r1', quantity: 3 });
    await insert(stockStream, 'stock', 3, 'StockCommitted', { reservationId: 'r1', quantity: 3 });
    await client.query(`INSERT INTO aggregate_states (stream_id, stream_type, state, version) VALUES ($1, 'stock', $2, 3)`, [
      stockStream,
      JSON.stringify({ onHand: -1, reserved: 0, reservations: { r1: { quantity: 3, status: 'committed' } } }),
    ]);
    // Versions 1 and 3 of a 3-event stream: a hole at 2.
    await insert(holeStream, 'product', 1, 'ProductCreated', { productId: 'x', name: 'X', description: '', priceCents: 1 });
    await insert(holeStream, 'product', 3, 'ProductRepriced', { oldPriceCents: 1, newPriceCents: 2 });
    // 100 deposited, 500 debited for an order that does not exist.
    await insert(accountStream, 'account', 1, 'AccountOpened', { customerId });
    await insert(accountStream, 'account', 2, 'FundsDeposited', { amountCents: 100 });
    await insert(accountStream, 'account', 3, 'AccountDebited', { paymentId: 'p1', orderId: 'no-such-order', amountCents: 500 });

    const scratch: InvariantFilter = { streamIds: [stockStream, holeStream, accountStream] };
    const stock = await checkStock(client, scratch);
    expect(stock).toMatchObject({ status: 'FAIL', checked: 1, violationCount: 1 });
    expect(stock.violations[0]).toMatch(new RegExp(`oversold ${stockStream}: at version 2 \\(StockReserved\\) onHand=2 reserved=3`));

    const integrity = await checkStreamIntegrity(client, scratch);
    expect(integrity).toMatchObject({ status: 'FAIL', checked: 3, violationCount: 1 });
    expect(integrity.violations[0]).toContain(`${holeStream}: 2 event(s) with versions 1..3, streams.version 3`);

    const money = await checkMoney(client, scratch);
    expect(money.status).toBe('FAIL');
    expect(money.violations).toEqual([
      expect.stringContaining(`${accountStream}: balance below zero at version 3 (AccountDebited) balance -400`),
      expect.stringContaining(`customer ${customerId}: debits − refunds = 500 ≠ confirmed orders 0`),
    ]);

    // The state stored disagreeing with the fold is caught too.
    await client.query(`UPDATE aggregate_states SET state = jsonb_set(state, '{onHand}', '5') WHERE stream_id = $1`, [stockStream]);
    expect((await checkStock(client, scratch)).violations).toContainEqual(expect.stringContaining('onHand stored 5 ≠ fold -1'));
  } finally {
    await client.query('ROLLBACK');
    client.release();
  }
  // Nothing was committed.
  expect((await app.pool.query('SELECT 1 FROM streams WHERE stream_id = ANY($1)', [[stockStream, holeStream, accountStream]])).rowCount).toBe(0);
});

describe('npm run check:invariants', () => {
  const run = (env: NodeJS.ProcessEnv, args: string[] = []) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/bin/checkInvariants.ts', ...args], {
        cwd: path.resolve(__dirname, '../..'),
        env,
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  const baseEnv = () => {
    const { DATABASE_URL: _db, TEMPORAL_ADDRESS: _t, ...rest } = process.env;
    return rest;
  };

  test('checks the whole database read-only and prints one row per invariant; the exit code follows the verdict', async () => {
    const { code, stdout, stderr } = await run({ ...baseEnv(), DATABASE_URL: testEnv.databaseUrl, TEMPORAL_ADDRESS: testEnv.temporalAddress }, [
      '--max-orders',
      '50',
      '--concurrency',
      '8',
      '--call-timeout-ms',
      '2000',
    ]);
    if (process.env.SHOW_INVARIANTS_CLI) process.stdout.write(stdout + stderr);
    expect(stderr).not.toContain('could not run');
    const lines = stdout.split('\n');
    expect(lines[0]).toMatch(/^#\s+invariant\s+result\s+checked\s+violations\s+counts$/);
    for (const id of ['1', '2', '3', '4', '5', '6']) expect(lines.some((l) => new RegExp(`^${id}\\s+.+\\s+(PASS|FAIL)\\s+\\d+\\s+\\d+`).test(l))).toBe(true);
    // Other test files share this database and may be mid-flight; the verdict and the code must agree.
    expect(code).toBe(stdout.includes('All invariants hold.') ? 0 : 1);
  }, 120_000);

  test('without DATABASE_URL or TEMPORAL_ADDRESS it refuses to run (exit 2)', async () => {
    const noDb = await run({ ...baseEnv(), TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(noDb).toMatchObject({ code: 2, stderr: expect.stringContaining('DATABASE_URL is required') });
    const noTemporal = await run({ ...baseEnv(), DATABASE_URL: 'postgres://x@127.0.0.1:1/x' });
    expect(noTemporal).toMatchObject({ code: 2, stderr: expect.stringContaining('TEMPORAL_ADDRESS is required') });
  }, 30_000);
});
