/**
 * Section `cluster`: checkout throughput on the production shape (`npm run start:cluster`: a
 * Temporal cluster on Postgres, two API processes) with one worker and then two, against the dev
 * server's figure at the same concurrency from the checkout section of the same run. Each shape
 * is a fresh cluster in a throwaway folder; the load goes over both APIs, through the typed client.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { signToken } from '../src/auth/tokens';
import { apiClient, type ApiClient } from '../src/client';
import { freePort } from '../src/devstack/freePort';
import { startLocalCluster } from '../src/devstack/localCluster';
import { freeClusterPorts } from '../src/devstack/temporalCluster';
import { throwawayDataDir } from '../src/devstack/throwawayDataDir';
import { cfg, closedLoop, progress, timed, type BenchResults } from './support';

const must = <T>(what: string, answer: { data?: T; error?: unknown; response: Response }): T => {
  if (answer.data === undefined) throw new Error(`${what}: ${answer.response.status} ${JSON.stringify(answer.error)}`);
  return answer.data;
};

/** Orders/s of closed-loop customers buying two products, on a fresh cluster with `workers` workers. */
async function checkoutsOnCluster(workers: number): Promise<Awaited<ReturnType<typeof closedLoop>>> {
  const dataDir = throwawayDataDir('bench-cluster');
  const secret = randomBytes(48).toString('base64url');
  progress(`cluster with ${workers} worker(s): starting`);
  const cluster = await startLocalCluster({
    dataDir,
    postgresPort: await freePort(),
    temporalPorts: await freeClusterPorts(),
    apiPorts: [await freePort(), await freePort()],
    workerCount: workers,
    namespace: 'default',
    taskQueue: 'orders-bench-cluster',
    authSecret: secret,
    appEnv: { LOG_LEVEL: 'warn' },
    log: progress,
  });
  try {
    const [api1, api2] = cluster.apis.map((a) => a.url) as [string, string];
    const admin = apiClient(api1, { headers: { authorization: `Bearer ${await signToken(secret, { sub: 'bench-ops', role: 'admin' })}` } });
    const productIds: string[] = [];
    for (const [name, priceCents] of [
      ['Notebook', 450],
      ['Pencil', 120],
    ] as const) {
      const { productId } = must('create product', await admin.POST('/products', { body: { name, priceCents } }));
      must('restock', await admin.POST('/products/{productId}/stock', { params: { path: { productId } }, body: { quantity: 10_000_000 } }));
      productIds.push(productId);
    }
    // One customer per virtual client, each on the API its index picks: the load is spread over both.
    const customers: Array<{ customerId: string; api: ApiClient }> = [];
    for (let i = 0; i < cfg.clusterConcurrency; i++) {
      const customerId = `bench-cluster-${i}-${randomUUID().slice(0, 6)}`;
      const token = await signToken(secret, { sub: customerId, role: 'customer' });
      const api = apiClient(i % 2 === 0 ? api1 : api2, { headers: { authorization: `Bearer ${token}` } });
      must('deposit', await api.POST('/accounts/{customerId}/deposits', { params: { path: { customerId } }, body: { amountCents: 1_000_000_000 } }));
      customers.push({ customerId, api });
    }
    const shippingAddress = { name: 'Grace Hopper', line1: '1 Navy Way', city: 'Arlington', postalCode: '22202', country: 'US' };
    progress(`cluster with ${workers} worker(s): c=${cfg.clusterConcurrency} for ${cfg.clusterSeconds}s`);
    return await closedLoop(cfg.clusterConcurrency, cfg.clusterSeconds, async (lat, clientIndex) => {
      const { customerId, api } = customers[clientIndex]!;
      const { orderId } = must('create', await timed(lat, 'create', () => api.POST('/orders', { body: { customerId, shippingAddress } })));
      for (const productId of productIds) {
        must(
          'addItem',
          await timed(lat, 'addItem', () => api.POST('/orders/{orderId}/items', { params: { path: { orderId } }, body: { productId, quantity: 1 } })),
        );
      }
      const placed = await timed(lat, 'checkout?wait', () =>
        api.POST('/orders/{orderId}/checkout', { params: { path: { orderId }, query: { wait: 'true' } } }),
      );
      // The contract types the checkout's order view only as an object.
      const { status } = (must('checkout', placed) ?? {}) as { status?: string };
      if (status !== 'CONFIRMED') throw new Error(`checkout ended ${status}`);
    });
  } finally {
    await cluster.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function benchCluster(out: BenchResults): Promise<void> {
  const c = cfg.clusterConcurrency;
  const devServer = out.rows.find((r) => r.section === 'checkout' && r.case === `orders/s, c=${c}`);
  const one = await checkoutsOnCluster(1);
  const two = await checkoutsOnCluster(2);
  out.details.cluster = { one, two };
  const row = (workers: number, run: typeof one, baseline: number, against: string) =>
    out.rows.push({
      section: 'cluster',
      case: `orders/s, c=${c}, ${workers} worker${workers > 1 ? 's' : ''}, 2 APIs (baseline: ${against})`,
      ours: run.rate,
      baseline,
      unit: 'orders/s',
      higherIsBetter: true,
      note: `errors ${run.errors}${run.firstError.length ? `: ${run.firstError.join(' | ')}` : ''}; checkout?wait p50 ${run.lat['checkout?wait']?.p50.toFixed(0)} ms`,
    });
  row(1, one, devServer?.ours ?? Number.NaN, `the dev server, 1 in-process worker, same run`);
  row(2, two, one.rate, '1 worker');
}
