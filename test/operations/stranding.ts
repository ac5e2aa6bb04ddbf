import path from 'node:path';
import type { Client } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection } from '@temporalio/worker';
import type { CheckoutActivities } from '../../src/activities/checkoutActivities';
import type { OrderActivities } from '../../src/activities/orderActivities';
import type { Pool } from '../../src/db/pool';
import { inspectWorkflow, type WorkflowCondition } from '../../src/operations/workflowHealth';
import { workflowInterceptorModules } from '../../src/telemetry';
import { workflowsPath } from '../../src/worker';
import type { ApiClient } from '../../src/client';
import { apiFor, createProduct, createTestWorker, startTestApi, testEnv, uniqueId } from '../support/harness';
import { sampleAddress } from '../support/orders';

/*
 * Orders stranded on purpose, the ways the chaos runs and the SDK ordering bug strand them: the
 * actor dies mid-checkout, its saga ends with nobody to record it, or its workflow task keeps
 * failing. Each runs on a task queue of its own with the real workflows and activities, a fault
 * only where the story needs one.
 */

/** A worker on a queue of its own; `stop` drains it. */
export interface TestWorker {
  taskQueue: string;
  /** The API on this queue, as the admin: orders it creates run on this worker. */
  api: ApiClient;
  stop(): Promise<void>;
}

export async function startTestWorker(
  deps: { client: Client; pool: Pool },
  options: { activities?: Partial<OrderActivities & CheckoutActivities>; workflowBundle?: { code: string } | { codePath: string }; taskQueue?: string } = {},
): Promise<TestWorker> {
  const connection = await NativeConnection.connect({ address: testEnv.temporalAddress });
  const taskQueue = options.taskQueue ?? uniqueId('stranding');
  const worker = await createTestWorker({ connection, pool: deps.pool }, { taskQueue, replaced: options.activities, workflowBundle: options.workflowBundle });
  const running = worker.run();
  const api = await startTestApi({ client: deps.client, pool: deps.pool, actors: { taskQueue } });
  return {
    taskQueue,
    api: apiFor(api.baseUrl),
    async stop() {
      await api.close();
      worker.shutdown();
      await running;
      await connection.close();
    },
  };
}

/**
 * The real workflows bundled with test/operations/strandOnSignal.ts: an order on this worker runs
 * normally until it gets a signal, then its workflow task fails on every retry. Takes seconds.
 */
export async function strandingBundle(): Promise<{ code: string }> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve(workflowsPath),
    workflowInterceptorModules: [...workflowInterceptorModules, path.join(__dirname, 'strandOnSignal.ts')],
    logger: new DefaultLogger('WARN'),
  });
  return { code };
}

/**
 * Holds activity calls while closed (Temporal retries a held call after its timeout, and that
 * attempt is held too). Once opened, `block` calls fail without doing anything and `pass` calls
 * go on to do the real thing, late: as a step of a dead saga would.
 */
export function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  let enter!: () => void;
  const entered = new Promise<void>((resolve) => (enter = resolve));
  return {
    /** Resolves once a call is held at the gate. */
    entered,
    open,
    async block(): Promise<never> {
      enter();
      await opened;
      throw new Error('gated by the test: not done');
    },
    async pass<T>(then: () => Promise<T>): Promise<T> {
      enter();
      await opened;
      return then();
    },
  };
}

/** A product with stock and a customer with money, and a cart on `worker` ready to check out. */
export async function cartReadyToCheckOut(pool: Pool, api: ApiClient, options: { customerId?: string } = {}) {
  const productId = await createProduct(pool, 'Kettle', 1500);
  expect((await api.POST('/products/{productId}/stock', { params: { path: { productId } }, body: { quantity: 5 } })).response.status).toBe(200);
  const customerId = options.customerId ?? uniqueId('stranded-cust');
  expect((await api.POST('/accounts/{customerId}/deposits', { params: { path: { customerId } }, body: { amountCents: 10_000 } })).response.status).toBe(200);
  const orderId = uniqueId('stranded');
  const created = await api.POST('/orders', {
    params: { header: { 'Idempotency-Key': `create-${orderId}` } },
    body: { orderId, customerId, shippingAddress: sampleAddress },
  });
  expect(created.response.status).toBe(201);
  const added = await api.POST('/orders/{orderId}/items', {
    params: { path: { orderId }, header: { 'Idempotency-Key': `add-${orderId}` } },
    body: { productId, quantity: 2 },
  });
  expect(added.response.status).toBe(200);
  return { productId, customerId, orderId, streamIds: [`order-${orderId}`, `account-${customerId}`, `stock-${productId}`, `product-${productId}`] };
}

/** Polls the workflow until `until` holds (the test's own deadline bounds it). */
export async function waitForWorkflow(client: Client, workflowId: string, until: (condition: WorkflowCondition) => boolean): Promise<WorkflowCondition> {
  for (;;) {
    const condition = await inspectWorkflow(client, workflowId);
    if (until(condition)) return condition;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
