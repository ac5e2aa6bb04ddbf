import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { freePort } from '../../src/devstack/freePort';
import type { ApiClient } from '../../src/client';
import { apiFor, createProduct, TEST_AUTH_SECRET, testEnv, testPool, uniqueId } from '../support/harness';
import { sampleAddress } from '../support/orders';
import { renderTree, startOtlpReceiver, type ReceivedSpan } from './otlpReceiver';

/*
 * One checkout through the real entry points: src/bin/api.ts and src/bin/worker.ts run as their
 * own processes, with OTEL_EXPORTER_OTLP_ENDPOINT pointing at a receiver in this test. (In-process
 * instrumentation cannot be tested under jest: its module loader bypasses the `require` hook the
 * http, express and pg instrumentations patch through.)
 */

const ROOT = path.join(__dirname, '..', '..');
const SERVER = 2; // OTLP SpanKind
const taskQueue = uniqueId('traced');

let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
const children: ChildProcess[] = [];
let api: ApiClient;
let workerMetricsUrl: string;

/** Runs an entry point of src/bin and waits for the log line that says it is ready. */
async function runEntryPoint(script: string, ready: RegExp, env: NodeJS.ProcessEnv): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', `src/bin/${script}`], {
    cwd: ROOT,
    env: { ...process.env, TASK_QUEUE: taskQueue, LOG_LEVEL: 'info', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY: '100', ...env },
  });
  children.push(child);
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} not ready in 90 s:\n${output}`)), 90_000);
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      if (ready.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}:\n${output}`)));
  });
}

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  const [port, workerMetricsPort, sdkMetricsPort] = [await freePort(), await freePort(), await freePort()];
  workerMetricsUrl = `http://127.0.0.1:${workerMetricsPort}/metrics`;
  const worker = {
    WORKFLOW_BUNDLE: testEnv.workflowBundle,
    HOST: '127.0.0.1',
    WORKER_METRICS_PORT: String(workerMetricsPort),
    TEMPORAL_METRICS_PORT: String(sdkMetricsPort),
  };
  await Promise.all([
    runEntryPoint('worker.ts', /worker polling/, worker),
    runEntryPoint('api.ts', /API listening/, { AUTH_SECRET: TEST_AUTH_SECRET, PORT: String(port), HOST: '127.0.0.1' }),
  ]);
  api = apiFor(`http://127.0.0.1:${port}`);
}, 120_000);

afterAll(async () => {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    ),
  );
  await receiver?.close();
});

/** The spans of `traceId` once `done` holds for them (the worker sends the saga's a moment after the answer). */
async function traceWhen(traceId: string, done: (spans: ReceivedSpan[]) => boolean): Promise<ReceivedSpan[]> {
  for (const deadline = Date.now() + 30_000; ; await new Promise((r) => setTimeout(r, 100))) {
    const spans = receiver.spans.filter((s) => s.traceId === traceId);
    if (done(spans) || Date.now() > deadline) return spans;
  }
}

test('one checkout is one trace: the HTTP request is its root, and the update, the appends and their SQL, and the saga and its activities are under it', async () => {
  const pool = testPool(2);
  const productId = await createProduct(pool, 'Traced mug', 1500).finally(() => pool.end());
  const customerId = uniqueId('cust');
  const orderId = uniqueId('order');
  expect((await api.POST('/products/{productId}/stock', { params: { path: { productId } }, body: { quantity: 3 } })).response.status).toBe(200);
  expect((await api.POST('/accounts/{customerId}/deposits', { params: { path: { customerId } }, body: { amountCents: 10_000 } })).response.status).toBe(200);
  expect((await api.POST('/orders', { body: { orderId, customerId, shippingAddress: sampleAddress } })).response.status).toBe(201);
  expect((await api.POST('/orders/{orderId}/items', { params: { path: { orderId } }, body: { productId, quantity: 2 } })).response.status).toBe(200);
  const placed = await api.POST('/orders/{orderId}/checkout', { params: { path: { orderId } } });
  expect(placed.response.status).toBe(202);

  // The W3C traceparent of the answer is not sent back, so the checkout's trace is found by its root span.
  const root = await (async () => {
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
      const found = receiver.spans.find((s) => s.kind === SERVER && s.attributes['http.target'] === `/orders/${orderId}/checkout`);
      if (found) return found;
    }
    throw new Error(`no server span for the checkout among ${receiver.spans.length} received`);
  })();
  // The saga's last step, its commit: the order's own steps are before it.
  const sagaDone = (spans: ReceivedSpan[]) => spans.some((s) => s.name === 'RunActivity:commitReservation');
  const spans = await traceWhen(root.traceId, sagaDone);
  const tree = renderTree(spans, root.spanId);
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  /** `service: name` of each span from the root down to `span`. */
  const chain = (span: ReceivedSpan | undefined): string[] => (span ? [...chain(byId.get(span.parentSpanId ?? '')), `${span.service}: ${span.name}`] : []);
  const sqlUnder = (activity: string) => spans.find((s) => s.attributes['db.system'] === 'postgresql' && chain(s).includes(`order-actors-worker: ${activity}`));
  const fromUpdate = [
    'order-actors-api: POST /orders/:orderId/checkout',
    'order-actors-api: request handler',
    'order-actors-api: StartWorkflowUpdate:PlaceOrder',
    'order-actors-worker: HandleUpdate:PlaceOrder',
  ];

  // Each expectation carries the whole tree, so a failure shows it.
  expect({ root: root.parentSpanId, sagaDone: sagaDone(spans), tree }).toEqual({ root: undefined, sagaDone: true, tree: expect.any(String) });
  // Every span of the trace hangs under the HTTP request's span: the tree is whole, across both processes.
  expect({ detached: spans.filter((s) => chain(s)[0] !== fromUpdate[0]).map((s) => s.name), tree }).toEqual({ detached: [], tree: expect.any(String) });
  // Express shows the route's handler, not a span per middleware or mounted router.
  const layers = spans.filter((s) => s.attributes['express.type'] !== undefined);
  expect({ layers: [...new Set(layers.map((s) => s.attributes['express.type']))], tree }).toEqual({ layers: ['request_handler'], tree: expect.any(String) });
  // The command's step (a local activity: price, decide, append) and its SQL, under the update that asked for it.
  expect({ chain: chain(sqlUnder('RunActivity:decidePricedOrderCommand')).slice(0, -1), tree }).toEqual({
    chain: [...fromUpdate, 'order-actors-worker: StartActivity:decidePricedOrderCommand', 'order-actors-worker: RunActivity:decidePricedOrderCommand'],
    tree: expect.any(String),
  });
  // The saga's steps, run by the actor (checkout-in-actor), and their SQL, in the same trace under the update that placed the order.
  expect({ chain: chain(sqlUnder('RunActivity:debitAccount')).slice(0, -1), tree }).toEqual({
    chain: [...fromUpdate, 'order-actors-worker: StartActivity:debitAccount', 'order-actors-worker: RunActivity:debitAccount'],
    tree: expect.any(String),
  });
}, 120_000);

test("after that checkout, the worker's /metrics has its own series and the Temporal SDK's, the saga's steps among them", async () => {
  const text = await (await fetch(workerMetricsUrl)).text();
  const series = (name: string) => text.split('\n').filter((line) => line.startsWith(name));
  expect(series('order_actors_event_store_appends_total{stream_type="order",outcome="appended"}')).toHaveLength(1);
  expect(series('order_actors_temporal_local_activity_execution_latency_seconds_count').filter((l) => l.includes('activity_type="debitAccount"'))).toHaveLength(
    1,
  );
  // The SDK series the dashboard reads (test/metrics/dashboard.test.ts) that a healthy worker has.
  expect(series('order_actors_temporal_worker_task_slots_available{').length).toBeGreaterThan(0);
});
