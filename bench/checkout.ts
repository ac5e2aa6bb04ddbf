/**
 * Section `checkout`: closed-loop customers over HTTP (create, add items, checkout?wait) against a
 * bare workflow of the same shape (bareWorkflow.ts) on its own worker; and the projections' live lag meanwhile.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Worker } from '@temporalio/worker';
import { executeAccountCommand } from '../src/application/accounts';
import { commandMetadata } from '../src/application/commandMetadata';
import { executeStockCommand } from '../src/application/stock';
import { createApp } from '../src/api/app';
import { signToken } from '../src/auth/tokens';
import { apiClient } from '../src/client';
import type { Pool } from '../src/db/pool';
import { productDecider, productStreamId } from '../src/domain/product';
import { createLogger } from '../src/logger';
import { allProjections, projectionStatuses } from '../src/projections';
import { addUpdate, BARE_WORKFLOW_SHAPE, createUpdate, placeUpdate, type bareOrderWorkflow, type OrderShape } from './bareWorkflow';
import { cfg, closedLoop, overBudget, pct, progress, TASK_QUEUE, timed, type BenchResults } from './support';
import { handleCommand } from '../src/application/handleCommand';

const BARE_QUEUE = 'bare-bench';

/**
 * The read side's live lag while load runs: every 100 ms, the age of the oldest event the slowest
 * projection has not applied yet (0 when it is caught up), as /admin/projections reports it.
 */
function sampleProjectionLag(pool: Pool): () => Promise<number[]> {
  const samples: number[] = [];
  let running = true;
  const sampling = (async () => {
    while (running) {
      const statuses = await projectionStatuses(pool, allProjections);
      samples.push(Math.max(...statuses.map((s) => s.lag.ms)));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return async () => {
    running = false;
    await sampling;
    return samples.sort((a, b) => a - b);
  };
}

/**
 * One order of the bare workflow (bareWorkflow.ts) on `taskQueue`, as the checkout loop sends one:
 * create by update-with-start, two adds, place and wait; `shape` says which activities each awaits.
 */
export function bareOrder(client: Client, taskQueue: string, shape: OrderShape) {
  return async (lat: Record<string, number[]>): Promise<void> => {
    const id = `bare-${randomUUID()}`;
    const t = performance.now();
    const start = new WithStartWorkflowOperation<typeof bareOrderWorkflow>('bareOrderWorkflow', {
      workflowId: id,
      taskQueue,
      args: [shape],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
    await timed(lat, 'create', () => client.workflow.executeUpdateWithStart(createUpdate, { startWorkflowOperation: start }));
    const h = client.workflow.getHandle(id);
    for (let i = 0; i < 2; i++) await timed(lat, 'addItem', () => h.executeUpdate(addUpdate));
    await timed(lat, 'checkout?wait', () => h.executeUpdate(placeUpdate));
    (lat['order total'] ??= []).push(performance.now() - t);
  };
}

export async function benchCheckout(out: BenchResults, pool: Pool, client: Client, temporalAddress: string): Promise<void> {
  // catalog + stock + money
  const productIds: string[] = [];
  for (const [name, price] of [
    ['Notebook', 450],
    ['Pencil', 120],
  ] as const) {
    const productId = randomUUID();
    await handleCommand(
      pool,
      productDecider,
      { id: productStreamId(productId), type: 'product' },
      { type: 'CreateProduct', productId, name, description: '', priceCents: price },
      { newEventId: randomUUID, now: () => new Date() },
    );
    await executeStockCommand(pool, productId, { type: 'Restock', quantity: 10_000_000 }, commandMetadata(randomUUID(), 'bench'));
    productIds.push(productId);
  }
  const maxC = Math.max(...cfg.checkoutLevels);
  const customers = Array.from({ length: maxC }, (_, i) => `bench-customer-${i}-${randomUUID().slice(0, 6)}`);
  for (const customerId of customers)
    await executeAccountCommand(pool, { type: 'Deposit', customerId, amountCents: 1_000_000_000 }, commandMetadata(randomUUID(), 'bench'));

  // Each virtual customer signs in with its own token, so auth and the ownership check are measured too.
  const authSecret = randomBytes(48).toString('base64url');
  const tokens = new Map(
    await Promise.all(customers.map(async (customerId) => [customerId, await signToken(authSecret, { sub: customerId, role: 'customer' })] as const)),
  );
  const app = createApp({
    db: pool,
    client,
    namespace: 'default',
    actors: { taskQueue: TASK_QUEUE, cartTtlMs: 30 * 60_000, historyLimit: 2000 },
    logger: createLogger('silent'),
    auth: { secret: authSecret, rateLimit: { perSecond: 1_000, burst: 1_000 } },
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // Each virtual customer calls through the typed client of the contract, with its own token.
  const apis = new Map([...tokens].map(([customerId, token]) => [customerId, apiClient(baseUrl, { headers: { authorization: `Bearer ${token}` } })]));

  // bare baseline worker on its own task queue
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('./bareWorkflow'), logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect({ address: temporalAddress });
  const bareWorker = await Worker.create({
    connection,
    namespace: 'default',
    taskQueue: BARE_QUEUE,
    workflowBundle: { code },
    activities: { noop: async () => undefined },
  });
  const bareRunning = bareWorker.run();
  const address = { name: 'Grace Hopper', line1: '1 Navy Way', city: 'Arlington', postalCode: '22202', country: 'US' };
  try {
    for (const c of cfg.checkoutLevels) {
      if (overBudget()) {
        out.skipped.push(`checkout c=${c}`);
        continue;
      }
      progress(`checkout c=${c}: ours (${cfg.checkoutSeconds}s)`);
      let n = 0;
      const stopLagSampling = sampleProjectionLag(pool);
      const ours = await closedLoop(c, cfg.checkoutSeconds, async (lat) => {
        const customerId = customers[n++ % c]!;
        const api = apis.get(customerId)!;
        const t = performance.now();
        const created = await timed(lat, 'create', () => api.POST('/orders', { body: { customerId, shippingAddress: address } }));
        if (!created.data) throw new Error(`create ${created.response.status} ${JSON.stringify(created.error)}`);
        const orderId = created.data.orderId;
        for (const productId of productIds) {
          const r = await timed(lat, 'addItem', () => api.POST('/orders/{orderId}/items', { params: { path: { orderId } }, body: { productId, quantity: 1 } }));
          if (r.error) throw new Error(`addItem ${r.response.status} ${JSON.stringify(r.error)}`);
        }
        const r = await timed(lat, 'checkout?wait', () => api.POST('/orders/{orderId}/checkout', { params: { path: { orderId }, query: { wait: 'true' } } }));
        // The contract types the checkout's order view only as an object.
        const { status } = (r.data ?? {}) as { status?: string };
        if (r.response.status !== 200 || status !== 'CONFIRMED')
          throw new Error(`checkout ${r.response.status} ${JSON.stringify(r.data ?? r.error)?.slice(0, 200)}`);
        (lat['order total'] ??= []).push(performance.now() - t);
      });
      const lag = await stopLagSampling();
      out.rows.push({
        section: 'projections',
        case: `live lag p99 during checkout c=${c} (worst projection, sampled every 100 ms)`,
        ours: pct(lag, 99),
        baseline: NaN,
        unit: 'ms',
        higherIsBetter: false,
        target: '≤ 250 ms',
        met: pct(lag, 99) <= 250,
        note: `p50 ${pct(lag, 50)} ms, max ${lag[lag.length - 1]} ms, ${lag.length} samples`,
      });
      out.details[`lag c=${c}`] = lag;
      progress(
        `checkout c=${c}: ours ${ours.rate.toFixed(2)} orders/s (${ours.errors} errors ${ours.firstError.join(' | ')}), lag p50 ${pct(lag, 50)} / p99 ${pct(lag, 99)} ms; bare (${cfg.checkoutSeconds}s)`,
      );
      const bare = await closedLoop(c, cfg.checkoutSeconds, bareOrder(client, BARE_QUEUE, BARE_WORKFLOW_SHAPE));
      progress(`checkout c=${c}: bare ${bare.rate.toFixed(2)} orders/s (${bare.errors} errors ${bare.firstError.join(' | ')})`);
      out.details[`checkout c=${c}`] = { ours, bare };
      out.rows.push({
        section: 'checkout',
        case: `orders/s, c=${c}`,
        ours: ours.rate,
        baseline: bare.rate,
        unit: 'orders/s',
        higherIsBetter: true,
        target: c === 32 ? '≥ 0.7×' : undefined,
        met: c === 32 ? ours.rate / bare.rate >= 0.7 : undefined,
        note: `errors ours ${ours.errors}, bare ${bare.errors}`,
      });
      for (const key of ['create', 'addItem', 'checkout?wait', 'order total']) {
        const o = ours.lat[key];
        const b = bare.lat[key];
        if (!o || !b) continue;
        for (const p of ['p50', 'p95', 'p99'] as const) {
          out.rows.push({ section: 'checkout', case: `${key} ${p}, c=${c}`, ours: o[p], baseline: b[p], unit: 'ms', higherIsBetter: false });
        }
      }
    }
  } finally {
    bareWorker.shutdown();
    await bareRunning.catch(() => undefined);
    await connection.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
