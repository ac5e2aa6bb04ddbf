import { spawn } from 'node:child_process';
import path from 'node:path';
import { accountDecider, accountStreamId } from '../../src/domain/account';
import { orderDecider } from '../../src/domain/order';
import { accountSummaryProjection, orderSummaryProjection, projectionStatuses, rebuildProjection, allProjections } from '../../src/projections';
import { REBUILD_LOCK } from '../../src/projections/rebuild';
import { testEnv, uniqueId, useTestApi, versionAfter } from '../support/harness';
import { sampleAddress } from '../support/orders';
import { readStream } from '../../src/application/eventStore';
import { foldRecorded } from '../../src/application/foldStream';

/*
 * Rebuilds run against the shared database while the run's projector keeps the live models
 * going and other test files read them: that is the point of the shadow schema and the swap.
 */

const app = useTestApi({ poolSize: 10 });

const accountRow = async (customerId: string) => (await app.pool.query('SELECT * FROM account_summary WHERE customer_id = $1', [customerId])).rows[0];
const orderRow = async (orderId: string) => (await app.pool.query('SELECT * FROM order_summary WHERE order_id = $1', [orderId])).rows[0];

test('a rebuild from position 0 equals the live model, while writes go on; the service serves throughout', async () => {
  const customerId = uniqueId('rb-cust');
  let version = 0;
  for (let i = 0; i < 3; i++)
    version = (await app.admin.POST('/accounts/{customerId}/deposits', { params: { path: { customerId } }, body: { amountCents: 700 } })).data!.version;
  const orderId = uniqueId('rb-order');
  await app.admin.POST('/orders', { body: { orderId, customerId, shippingAddress: sampleAddress } });
  const address = await app.admin.PUT('/orders/{orderId}/shipping-address', { params: { path: { orderId } }, body: { ...sampleAddress, city: 'Paris' } });
  expect((await app.admin.GET('/orders/{orderId}', { params: { path: { orderId }, query: { minVersion: versionAfter(address) } } })).response.status).toBe(200);
  expect((await app.admin.GET('/accounts/{customerId}', { params: { path: { customerId }, query: { minVersion: version } } })).response.status).toBe(200);
  const liveOrder = await orderRow(orderId);

  // Order summary: rebuilt, and the status says so while it runs.
  const states: string[] = [];
  const progress: Array<[number, number]> = [];
  const rebuilt = await rebuildProjection(app.pool, testEnv.databaseUrl, orderSummaryProjection, {
    batchSize: 200,
    onProgress: async (processed, total) => {
      progress.push([processed, total]);
      if (states.length === 0) {
        const [status] = await projectionStatuses(app.pool, [orderSummaryProjection]);
        states.push(status!.state);
        expect(status!.rebuild).toEqual({ startedAt: expect.any(String), processed, total: expect.any(Number) });
      }
    },
  });
  expect(states).toEqual(['rebuilding']);
  expect(progress.length).toBeGreaterThan(0);
  expect(rebuilt.events).toBeGreaterThan(0);
  expect(progress.at(-1)![0]).toBe(rebuilt.events);
  expect(await orderRow(orderId)).toEqual(liveOrder);
  expect((await orderRow(orderId)).state).toEqual(JSON.parse(JSON.stringify(foldRecorded(orderDecider, await readStream(app.pool, `order-${orderId}`)))));

  // Account summary: deposits keep coming during the rebuild and the swap.
  let writing = true;
  const writer = (async () => {
    let n = 0;
    while (writing) {
      version = (await app.admin.POST('/accounts/{customerId}/deposits', { params: { path: { customerId } }, body: { amountCents: 1 } })).data!.version;
      n++;
    }
    return n;
  })();
  await rebuildProjection(app.pool, testEnv.databaseUrl, accountSummaryProjection);
  writing = false;
  const during = await writer;
  expect(during).toBeGreaterThan(0);
  // The swapped-in model keeps following: the last deposit is readable at its version.
  const after = await app.admin.GET('/accounts/{customerId}', { params: { path: { customerId }, query: { minVersion: version } } });
  expect(after.response.status).toBe(200);
  const fold = foldRecorded(accountDecider, await readStream(app.pool, accountStreamId(customerId)));
  expect(after.data).toMatchObject({ balanceCents: 2100 + during, totalDepositsCents: 2100 + during, transactionCount: 3 + during, version });
  expect(await accountRow(customerId)).toMatchObject({
    balance_cents: String(fold.balanceCents),
    transaction_count: fold.transactionCount,
    version: String(version),
  });

  const [status] = await projectionStatuses(app.pool, [accountSummaryProjection]);
  expect(status).toMatchObject({ state: 'running', rebuild: null });
  const leftovers = await app.pool.query("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'rebuild\\_%'");
  expect(leftovers.rows.filter((r) => /^rebuild_(order_summary|account_summary)/.test(r.nspname))).toEqual([]);
});

function runCli(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const root = path.join(__dirname, '..', '..');
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/bin/rebuildProjections.ts', ...args], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: testEnv.databaseUrl, LOG_LEVEL: 'silent' },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

test('npm run projections:rebuild <name> shows progress and swaps in a model equal to the live one', async () => {
  const created = await app.admin.POST('/products', { body: { name: 'Lamp', priceCents: 4500 } });
  await app.admin.POST('/products/{productId}/stock', { params: { path: { productId: created.data!.productId } }, body: { quantity: 3 } });
  const before = await app.admin.GET('/products/{productId}', {
    params: { path: { productId: created.data!.productId }, query: { minVersion: 1, minStockVersion: 1 } },
  });
  expect(before.response.status).toBe(200);

  const { code, stderr } = await runCli(['catalog']);
  expect(code).toBe(0);
  expect(stderr).toMatch(/catalog: 100% \d+\/\d+ events/); // not a terminal: plain progress lines
  expect(stderr).toContain('catalog: rebuilt from');
  expect((await app.admin.GET('/products/{productId}', { params: { path: { productId: created.data!.productId } } })).data).toEqual(before.data);

  const unknown = await runCli(['no_such_projection']);
  expect(unknown.code).toBe(1);
  expect(unknown.stderr).toContain(
    allProjections
      .filter((p) => p.tables)
      .map((p) => p.name)
      .join(', '),
  );
}, 60_000);

test('a rebuild refused because another one runs leaves that one and its progress alone', async () => {
  const { name } = accountSummaryProjection;
  const running = await app.pool.connect();
  try {
    // Another rebuild: it holds the lock and shows its progress.
    await running.query('SELECT pg_advisory_lock($1, hashtext($2))', [REBUILD_LOCK, name]);
    await running.query('INSERT INTO projection_rebuilds (name, total, processed) VALUES ($1, 10, 4)', [name]);

    await expect(rebuildProjection(app.pool, testEnv.databaseUrl, accountSummaryProjection)).rejects.toThrow('already being rebuilt');
    const progress = await app.pool.query('SELECT processed, total FROM projection_rebuilds WHERE name = $1', [name]);
    expect(progress.rows).toEqual([{ processed: '4', total: '10' }]);
  } finally {
    await running.query('DELETE FROM projection_rebuilds WHERE name = $1', [name]);
    await running.query('SELECT pg_advisory_unlock($1, hashtext($2))', [REBUILD_LOCK, name]);
    running.release();
  }
});
