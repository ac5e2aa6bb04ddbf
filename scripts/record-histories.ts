/**
 * `npm run histories:record`: runs real scenarios on a fresh dev server and embedded Postgres
 * (or TEMPORAL_ADDRESS / DATABASE_URL) and saves each workflow history, with its workflow id, to
 * test/replay/histories/<scenario>.json. The replay test replays every file against the current
 * workflow code: commit new recordings whenever behaviour changes on purpose.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { startLocalWorker } from '../src/devstack/localWorker';
import { executeAccountCommand } from '../src/application/accounts';
import { commandMetadata } from '../src/application/commandMetadata';
import { executeStockCommand } from '../src/application/stock';
import { productDecider, productStreamId } from '../src/domain/product';
import { type TransactionalDb } from '../src/eventstore';
import { connectClient } from '../src/temporal';
import type { orderWorkflow } from '../src/workflows/order';
import {
  commandSignals,
  commandUpdates,
  getCommandOutcomeQuery,
  getOrderQuery,
  orderWorkflowId,
  type OrderWorkflowInput,
} from '../src/workflows/orderContract';
import { throwawayDataDir } from '../src/devstack/throwawayDataDir';
import { handleCommand } from '../src/application/handleCommand';

const OUT_DIR = path.join(__dirname, '..', 'test', 'replay', 'histories');
const TASK_QUEUE = 'orders-recording';
const address = { name: 'Grace Hopper', line1: '1 Navy Way', city: 'Arlington', postalCode: '22202', country: 'US' };

type OrderHandle = WorkflowHandle<typeof orderWorkflow>;

interface Scenario {
  name: string;
  settings?: Partial<Omit<OrderWorkflowInput, 'orderId'>>;
  /** Money in the customer's account before the scenario. */
  depositCents?: number;
  run(handle: OrderHandle, ctx: Ctx): Promise<void>;
  /** Also record the first run when the scenario continues-as-new. */
  recordFirstRun?: boolean;
}

interface Ctx {
  productIds: string[];
  orderId: string;
  /** One customer per scenario, so balances do not carry over. */
  customerId: string;
}

const create = (h: OrderHandle, { orderId, customerId }: Ctx, withAddress = true) =>
  h.executeUpdate(commandUpdates.CreateOrder, {
    args: [{ commandId: 'create', orderId, customerId, ...(withAddress ? { shippingAddress: address } : {}) }],
  });

/** Places the cart and waits until the saga has reported back. */
async function checkOut(h: OrderHandle, commandId: string, expectedTotalCents?: number): Promise<void> {
  await h.executeUpdate(commandUpdates.PlaceOrder, { args: [{ commandId, expectedTotalCents }] });
  while ((await h.query(getOrderQuery)).state.status === 'PLACED') await new Promise((r) => setTimeout(r, 50));
}
const rejected = (p: Promise<unknown>) =>
  p.then(
    () => Promise.reject(new Error('expected a rejection')),
    () => undefined,
  );

const scenarios: Scenario[] = [
  { name: 'order-created', run: async (h, ctx) => void (await create(h, ctx, false)) },
  {
    name: 'cart-edits-place-and-cancel',
    run: async (h, ctx) => {
      const [a, b] = ctx.productIds;
      await create(h, ctx, false);
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
    run: async (h, ctx) => {
      const [a] = ctx.productIds;
      await create(h, ctx);
      await h.executeUpdate(commandUpdates.AddItem, { args: [{ commandId: 'add-once', productId: a!, quantity: 1 }] });
      await h.executeUpdate(commandUpdates.AddItem, { args: [{ commandId: 'add-once', productId: a!, quantity: 1 }] });
      await rejected(h.executeUpdate(commandUpdates.AddItem, { args: [{ commandId: 'too-many', productId: a!, quantity: 5000 }] }));
      await rejected(h.executeUpdate(commandUpdates.PlaceOrder, { args: [{ commandId: 'stale', expectedVersion: 1 }] }));
    },
  },
  {
    name: 'commands-as-signals',
    run: async (h, ctx) => {
      const [a, b] = ctx.productIds;
      await create(h, ctx);
      await h.signal(commandSignals.AddItem, { commandId: 'sig-a', productId: a!, quantity: 1 });
      await h.signal(commandSignals.AddItem, { commandId: 'sig-b', productId: b!, quantity: 3 });
      await h.signal(commandSignals.RemoveItem, { commandId: 'sig-remove', productId: a! });
      while ((await h.query(getCommandOutcomeQuery, 'sig-remove'))?.status !== 'accepted') await new Promise((r) => setTimeout(r, 50));
    },
  },
  {
    name: 'cart-expiry',
    settings: { cartTtlMs: 1000 },
    run: async (h, ctx) => {
      const [a] = ctx.productIds;
      await create(h, ctx);
      await h.executeUpdate(commandUpdates.AddItem, { args: [{ commandId: 'add', productId: a!, quantity: 1 }] });
      await h.result();
    },
  },
  {
    // The cart's expiry timer fires once the order is confirmed: it neither expires the order nor starts again.
    name: 'cart-timer-fires-after-checkout',
    settings: { cartTtlMs: 2000 },
    depositCents: 100_000,
    run: async (h, ctx) => {
      const [a] = ctx.productIds;
      await create(h, ctx);
      await h.executeUpdate(commandUpdates.AddItem, { args: [{ commandId: 'add-a', productId: a!, quantity: 1 }] });
      await checkOut(h, 'place');
      while (!(await h.fetchHistory()).events?.some((e) => e.timerFiredEventAttributes)) await new Promise((r) => setTimeout(r, 100));
      await h.executeUpdate(commandUpdates.MarkShipped, { args: [{ commandId: 'ship' }] });
      await h.result();
    },
  },
  {
    name: 'checkout-succeeds-and-ships',
    depositCents: 100_000,
    run: async (h, ctx) => {
      const [a, b] = ctx.productIds;
      await create(h, ctx);
      await h.executeUpdate(commandUpdates.AddItem, { args: [{ commandId: 'add-a', productId: a!, quantity: 2 }] });
      await h.executeUpdate(commandUpdates.AddItem, { args: [{ commandId: 'add-b', productId: b!, quantity: 1 }] });
      await checkOut(h, 'place');
      await h.executeUpdate(commandUpdates.MarkShipped, { args: [{ commandId: 'ship' }] });
      await h.result();
    },
  },
  {
    name: 'checkout-out-of-stock-then-retried',
    depositCents: 100_000,
    run: async (h, ctx) => {
      const [a, , scarce] = ctx.productIds;
      await create(h, ctx);
      await h.executeUpdate(commandUpdates.AddItem, { args: [{ commandId: 'add-a', productId: a!, quantity: 1 }] });
      await h.executeUpdate(commandUpdates.AddItem, { args: [{ commandId: 'add-scarce', productId: scarce!, quantity: 5 }] });
      await checkOut(h, 'place-1'); // only 1 unit of the scarce product: compensated
      await h.executeUpdate(commandUpdates.RemoveItem, { args: [{ commandId: 'remove-scarce', productId: scarce! }] });
      await checkOut(h, 'place-2');
    },
  },
  {
    name: 'checkout-insufficient-funds',
    depositCents: 100,
    run: async (h, ctx) => {
      const [a] = ctx.productIds;
      await create(h, ctx);
      await h.executeUpdate(commandUpdates.AddItem, { args: [{ commandId: 'add-a', productId: a!, quantity: 3 }] });
      await checkOut(h, 'place');
    },
  },
  {
    name: 'cancel-after-confirm',
    depositCents: 100_000,
    run: async (h, ctx) => {
      const [a] = ctx.productIds;
      await create(h, ctx);
      await h.executeUpdate(commandUpdates.AddItem, { args: [{ commandId: 'add-a', productId: a!, quantity: 1 }] });
      await checkOut(h, 'place');
      await h.executeUpdate(commandUpdates.CancelOrder, { args: [{ commandId: 'cancel', reason: 'no longer needed' }] });
      await h.result();
    },
  },
  {
    name: 'continue-as-new',
    // One continue-as-new, after the sixth add (at about 8 events a command since priced-in-one-step).
    settings: { historyLimit: 60 },
    recordFirstRun: true,
    run: async (h, ctx) => {
      const [a] = ctx.productIds;
      await create(h, ctx);
      for (let i = 1; i <= 8; i++) {
        await h.executeUpdate(commandUpdates.AddItem, { args: [{ commandId: `add-${i}`, productId: a!, quantity: 1 }] });
      }
      // The continued run answers a repeat from the carried ledger and takes one new command.
      await h.executeUpdate(commandUpdates.AddItem, { args: [{ commandId: 'add-1', productId: a!, quantity: 1 }] });
      await h.executeUpdate(commandUpdates.RemoveItem, { args: [{ commandId: 'remove', productId: a! }] });
    },
  },
  {
    // Checkout reprices every line (a catalog look-up of the whole cart) and takes an approved total.
    name: 'priced-checkout-with-approved-total',
    depositCents: 100_000,
    run: async (h, ctx) => {
      const [a, b] = ctx.productIds;
      await create(h, ctx);
      await h.executeUpdate(commandUpdates.AddItem, { args: [{ commandId: 'add-a', productId: a!, quantity: 2 }] });
      await h.executeUpdate(commandUpdates.AddItem, { args: [{ commandId: 'add-b', productId: b!, quantity: 1 }] });
      await rejected(h.executeUpdate(commandUpdates.PlaceOrder, { args: [{ commandId: 'place', expectedTotalCents: 1 }] }));
      const { state } = await h.query(getOrderQuery);
      await checkOut(h, 'place', state.totalCents); // the same key, corrected: decided afresh
      await h.executeUpdate(commandUpdates.MarkShipped, { args: [{ commandId: 'ship' }] });
      await h.result();
    },
  },
  {
    // Client keys shaped like internal ids, a repeated rejection, a reused key, and a key the
    // two-entry ledger has dropped (looked up in the stream).
    name: 'keys-rejected-reused-and-forgotten',
    settings: { ledgerCapacity: 2 },
    run: async (h, ctx) => {
      const [a] = ctx.productIds;
      await h.executeUpdate(commandUpdates.CreateOrder, { args: [{ commandId: 'checkout-1', orderId: ctx.orderId, customerId: ctx.customerId }] });
      await h.executeUpdate(commandUpdates.AddItem, { args: [{ commandId: 'internal:expire:2', productId: a!, quantity: 1 }] });
      await rejected(h.executeUpdate(commandUpdates.RemoveItem, { args: [{ commandId: 'nothere', productId: 'nothere' }] }));
      await rejected(h.executeUpdate(commandUpdates.RemoveItem, { args: [{ commandId: 'nothere', productId: 'nothere' }] }));
      await rejected(h.executeUpdate(commandUpdates.AddItem, { args: [{ commandId: 'internal:expire:2', productId: a!, quantity: 2 }] }));
      for (const key of ['x', 'y', 'z']) await h.executeUpdate(commandUpdates.AddItem, { args: [{ commandId: key, productId: a!, quantity: 1 }] });
      await h.executeUpdate(commandUpdates.AddItem, { args: [{ commandId: 'internal:expire:2', productId: a!, quantity: 1 }] });
    },
  },
  {
    // The ledger carried in its current shape (accepted with fingerprints, rejections apart).
    name: 'keys-across-continue-as-new',
    settings: { historyLimit: 60 },
    recordFirstRun: true,
    run: async (h, ctx) => {
      const [a] = ctx.productIds;
      await create(h, ctx);
      await rejected(h.executeUpdate(commandUpdates.RemoveItem, { args: [{ commandId: 'refused', productId: 'nothere' }] }));
      // Past the 60-event limit before the last three commands, so the continued run answers them.
      for (let i = 1; i <= 12; i++) {
        await h.executeUpdate(commandUpdates.AddItem, { args: [{ commandId: `add-${i}`, productId: a!, quantity: 1 }] });
      }
      await h.executeUpdate(commandUpdates.AddItem, { args: [{ commandId: 'add-1', productId: a!, quantity: 1 }] });
      await rejected(h.executeUpdate(commandUpdates.AddItem, { args: [{ commandId: 'add-2', productId: a!, quantity: 9 }] }));
      await h.executeUpdate(commandUpdates.RemoveItem, { args: [{ commandId: 'refused', productId: a! }] });
    },
  },
];

async function createProduct(db: TransactionalDb, name: string, priceCents: number, units: number): Promise<string> {
  const productId = randomUUID();
  await handleCommand(
    db,
    productDecider,
    { id: productStreamId(productId), type: 'product' },
    { type: 'CreateProduct', productId, name, description: '', priceCents },
    {
      newEventId: randomUUID,
      now: () => new Date(),
    },
  );
  await executeStockCommand(db, productId, { type: 'Restock', quantity: units }, commandMetadata(randomUUID(), 'recording'));
  return productId;
}

async function deposit(db: TransactionalDb, customerId: string, amountCents: number): Promise<void> {
  await executeAccountCommand(db, { type: 'Deposit', customerId, amountCents }, commandMetadata(randomUUID(), 'recording'));
}

async function save(client: Client, name: string, workflowId: string, runId?: string): Promise<void> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const file = path.join(OUT_DIR, `${name}.json`);
  writeFileSync(file, `${JSON.stringify({ workflowId, history: JSON.parse(historyToJSON(history)) as unknown }, null, 2)}\n`);
  process.stdout.write(`  saved ${path.relative(process.cwd(), file)} (${history.events?.length ?? 0} events)\n`);
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  const dataDir = throwawayDataDir('record');
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
    const productIds = [
      await createProduct(local.pool, 'Notebook', 450, 1000),
      await createProduct(local.pool, 'Pencil', 120, 1000),
      await createProduct(local.pool, 'Fountain pen', 9900, 1),
    ];
    // HISTORIES_ONLY=a,b records just those scenarios (new ones), leaving the others' files as they are.
    const only = process.env.HISTORIES_ONLY?.split(',');
    for (const scenario of scenarios.filter((s) => !only || only.includes(s.name))) {
      process.stdout.write(`${scenario.name}\n`);
      const orderId = `rec-${scenario.name}-${randomUUID().slice(0, 8)}`;
      const handle = await client.workflow.start<typeof orderWorkflow>('orderWorkflow', {
        workflowId: orderWorkflowId(orderId),
        taskQueue: TASK_QUEUE,
        args: [{ orderId, cartTtlMs: 30 * 60_000, historyLimit: 2000, ...scenario.settings }],
      });
      const customerId = `customer-${scenario.name}`;
      if (scenario.depositCents) await deposit(local.pool, customerId, scenario.depositCents);
      await scenario.run(handle, { productIds, orderId, customerId });
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
