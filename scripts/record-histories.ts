/**
 * `npm run histories:record`: runs real scenarios on a fresh dev server and embedded Postgres
 * (or TEMPORAL_ADDRESS / DATABASE_URL) and saves each workflow history, with its workflow id, to
 * test/replay/histories/<scenario>.json. The replay test replays every file against the current
 * workflow code: commit new recordings whenever behaviour changes on purpose.
 */
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { startLocalWorker } from '../src/devstack/localWorker';
import { productDecider, productStreamId } from '../src/domain/product';
import { handleCommand, type Queryable } from '../src/eventstore';
import { connectClient } from '../src/temporal';
import type { orderWorkflow } from '../src/workflows/order';
import { commandSignals, commandUpdates, getCommandOutcomeQuery, orderWorkflowId, type OrderWorkflowInput } from '../src/workflows/orderContract';

const OUT_DIR = path.join(__dirname, '..', 'test', 'replay', 'histories');
const TASK_QUEUE = 'orders-recording';
const address = { name: 'Grace Hopper', line1: '1 Navy Way', city: 'Arlington', postalCode: '22202', country: 'US' };

type OrderHandle = WorkflowHandle<typeof orderWorkflow>;

interface Scenario {
  name: string;
  settings?: Partial<Omit<OrderWorkflowInput, 'orderId'>>;
  run(handle: OrderHandle, ctx: { productIds: string[]; orderId: string }): Promise<void>;
  /** Also record the first run when the scenario continues-as-new. */
  recordFirstRun?: boolean;
}

const create = (h: OrderHandle, orderId: string, withAddress = true) =>
  h.executeUpdate(commandUpdates.CreateOrder, {
    args: [{ commandId: 'create', orderId, customerId: 'customer-rec', ...(withAddress ? { shippingAddress: address } : {}) }],
  });
const rejected = (p: Promise<unknown>) => p.then(() => Promise.reject(new Error('expected a rejection')), () => undefined);

const scenarios: Scenario[] = [
  { name: 'order-created', run: async (h, { orderId }) => void (await create(h, orderId, false)) },
  {
    name: 'cart-edits-place-and-cancel',
    run: async (h, { orderId, productIds: [a, b] }) => {
      await create(h, orderId, false);
      await h.executeUpdate(commandUpdates.AddItem, { args: [{ commandId: 'add-a', productId: a!, quantity: 2 }] });
      await h.executeUpdate(commandUpdates.AddItem, { args: [{ commandId: 'add-b', productId: b!, quantity: 1 }] });
      await h.executeUpdate(commandUpdates.ChangeItemQuantity, { args: [{ commandId: 'qty-a', productId: a!, quantity: 4 }] });
      await h.executeUpdate(commandUpdates.RemoveItem, { args: [{ commandId: 'remove-b', productId: b! }] });
      await h.executeUpdate(commandUpdates.ChangeShippingAddress, { args: [{ commandId: 'address', address }] });
      await h.executeUpdate(commandUpdates.PlaceOrder, { args: [{ commandId: 'place' }] });
      await h.executeUpdate(commandUpdates.CancelOrder, { args: [{ commandId: 'cancel', reason: 'found it cheaper' }] });
      await h.result();
    },
  },
  {
    name: 'duplicate-and-rejected-commands',
    run: async (h, { orderId, productIds: [a] }) => {
      await create(h, orderId);
      await h.executeUpdate(commandUpdates.AddItem, { args: [{ commandId: 'add-once', productId: a!, quantity: 1 }] });
      await h.executeUpdate(commandUpdates.AddItem, { args: [{ commandId: 'add-once', productId: a!, quantity: 1 }] });
      await rejected(h.executeUpdate(commandUpdates.AddItem, { args: [{ commandId: 'too-many', productId: a!, quantity: 5000 }] }));
      await rejected(h.executeUpdate(commandUpdates.PlaceOrder, { args: [{ commandId: 'stale', expectedVersion: 1 }] }));
    },
  },
  {
    name: 'commands-as-signals',
    run: async (h, { orderId, productIds: [a, b] }) => {
      await create(h, orderId);
      await h.signal(commandSignals.AddItem, { commandId: 'sig-a', productId: a!, quantity: 1 });
      await h.signal(commandSignals.AddItem, { commandId: 'sig-b', productId: b!, quantity: 3 });
      await h.signal(commandSignals.RemoveItem, { commandId: 'sig-remove', productId: a! });
      while ((await h.query(getCommandOutcomeQuery, 'sig-remove'))?.status !== 'accepted') await new Promise((r) => setTimeout(r, 50));
    },
  },
  {
    name: 'cart-expiry',
    settings: { cartTtlMs: 1000 },
    run: async (h, { orderId, productIds: [a] }) => {
      await create(h, orderId);
      await h.executeUpdate(commandUpdates.AddItem, { args: [{ commandId: 'add', productId: a!, quantity: 1 }] });
      await h.result();
    },
  },
  {
    name: 'continue-as-new',
    settings: { historyLimit: 40 },
    recordFirstRun: true,
    run: async (h, { orderId, productIds: [a] }) => {
      await create(h, orderId);
      for (let i = 1; i <= 8; i++) {
        await h.executeUpdate(commandUpdates.AddItem, { args: [{ commandId: `add-${i}`, productId: a!, quantity: 1 }] });
      }
      // The continued run answers a repeat from the carried ledger and takes one new command.
      await h.executeUpdate(commandUpdates.AddItem, { args: [{ commandId: 'add-1', productId: a!, quantity: 1 }] });
      await h.executeUpdate(commandUpdates.RemoveItem, { args: [{ commandId: 'remove', productId: a! }] });
    },
  },
];

async function createProduct(db: Queryable, name: string, priceCents: number): Promise<string> {
  const productId = randomUUID();
  await handleCommand(db, productDecider, { id: productStreamId(productId), type: 'product' }, { type: 'CreateProduct', productId, name, description: '', priceCents }, {
    newEventId: randomUUID,
    now: () => new Date(),
  });
  return productId;
}

async function save(client: Client, name: string, workflowId: string, runId?: string): Promise<void> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const file = path.join(OUT_DIR, `${name}.json`);
  writeFileSync(file, `${JSON.stringify({ workflowId, history: JSON.parse(historyToJSON(history)) }, null, 2)}\n`);
  process.stdout.write(`  saved ${path.relative(process.cwd(), file)} (${history.events?.length ?? 0} events)\n`);
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  const dataDir = mkdtempSync(path.join(tmpdir(), 'order-actors-record-'));
  chmodSync(dataDir, 0o755);
  const local = await startLocalWorker({
    dataDir,
    persistent: false,
    databaseUrl: process.env.DATABASE_URL,
    temporalAddress: process.env.TEMPORAL_ADDRESS,
    temporalLogLevel: 'error',
    log: (line) => process.stdout.write(`${line}\n`),
    namespace: 'default',
    taskQueue: TASK_QUEUE,
  });
  const client = await connectClient(local.stack.temporalAddress, 'default');
  try {
    mkdirSync(OUT_DIR, { recursive: true });
    const productIds = [await createProduct(local.pool, 'Notebook', 450), await createProduct(local.pool, 'Pencil', 120)];
    for (const scenario of scenarios) {
      process.stdout.write(`${scenario.name}\n`);
      const orderId = `rec-${scenario.name}-${randomUUID().slice(0, 8)}`;
      const handle = await client.workflow.start<typeof orderWorkflow>('orderWorkflow', {
        workflowId: orderWorkflowId(orderId),
        taskQueue: TASK_QUEUE,
        args: [{ orderId, cartTtlMs: 30 * 60_000, historyLimit: 2000, ...scenario.settings }],
      });
      await scenario.run(handle, { productIds, orderId });
      if (scenario.recordFirstRun) await save(client, `${scenario.name}-first-run`, handle.workflowId, handle.firstExecutionRunId);
      await save(client, scenario.name, handle.workflowId);
    }
  } finally {
    await client.connection.close();
    await local.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`recording failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
