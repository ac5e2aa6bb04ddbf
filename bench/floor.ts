/**
 * Section `floor`: what Temporal and Postgres cost by themselves, on this machine in this run, so
 * the order service's figures can be read against them (issue 14). At c = 1 and c = 32: an update
 * that does nothing, one that awaits a regular activity and one that awaits a local activity
 * (each `select 1`), and one that awaits an order command's local activity (`select 1`, then a
 * one-row INSERT); the "HTTP floor": that last update behind a bare express route in this process
 * (no auth, rate limit or other middleware but the JSON parser); the "Temporal floor" flow (a
 * checkout's updates and child workflow, no activities) and the same flow with the order
 * service's local activities as `select 1`s (the "local-steps floor"); and a Postgres-only command
 * (a deposit through the application's handler). `floorTargets` then sets the checkout section's
 * figures against these.
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Worker } from '@temporalio/worker';
import express from 'express';
import { executeAccountCommand } from '../src/application/accounts';
import { commandMetadata } from '../src/application/commandMetadata';
import type { Pool } from '../src/db/pool';
import { LOCAL_STEPS_INLINE_SAGA_SHAPE, LOCAL_STEPS_SHAPE, TEMPORAL_FLOOR_SHAPE, type OrderShape } from './bareWorkflow';
import { bareOrder } from './checkout';
import { floorUpdates, floorUpdateWorkflow, stopSignal, type FloorActivities, type FloorUpdateKind } from './floorWorkflows';
import { cfg, closedLoop, progress, timed, type BenchResults } from './support';

const FLOOR_QUEUE = 'floor-bench';
const LEVELS = [1, 32];
type Loop = Awaited<ReturnType<typeof closedLoop>>;

/** What the floor section measured, kept in the results for `floorTargets`. */
interface FloorFigures {
  updates: Record<FloorUpdateKind, Record<number, Loop>>;
  /** The HTTP floor: the `command` update behind a bare express route. */
  http: Record<number, Loop>;
  flow: Record<number, Loop>;
  /** The floor flow with the order service's local activities (`LOCAL_STEPS_SHAPE`). */
  localFlow: Record<number, Loop>;
  /** The local-steps flow with its saga in the order's own workflow (`LOCAL_STEPS_INLINE_SAGA_SHAPE`). */
  inlineSagaFlow: Record<number, Loop>;
  deposit: Record<number, Loop>;
}

const UPDATE_CASES: Record<FloorUpdateKind, string> = {
  none: 'bare update p50, no activity',
  regular: 'bare update p50, one regular activity (select 1)',
  local: 'bare update p50, one local activity (select 1)',
  command: "bare update p50, an order command's one local activity (select 1, then a one-row INSERT)",
};
const FLOWS: Array<{ key: 'flow' | 'localFlow' | 'inlineSagaFlow'; shape: OrderShape; label: string }> = [
  { key: 'flow', shape: TEMPORAL_FLOOR_SHAPE, label: "Temporal floor flow orders/s (a checkout's updates and child workflow, no activities)" },
  {
    key: 'localFlow',
    shape: LOCAL_STEPS_SHAPE,
    label: "local-steps floor flow orders/s (the Temporal floor flow with the order service's 10 local activities, select 1 each)",
  },
  {
    key: 'inlineSagaFlow',
    shape: LOCAL_STEPS_INLINE_SAGA_SHAPE,
    label: 'local-steps floor flow orders/s with the saga in the order workflow (no child workflow), against the local-steps flow',
  },
];

const p50 = (loop: Loop | undefined, key: string) => loop?.lat[key]?.p50 ?? NaN;
const describe = (loop: Loop, key: string) => {
  const l = loop.lat[key];
  return `p95 ${l?.p95.toFixed(1)} ms, ${loop.rate.toFixed(1)}/s, n ${l?.n}, errors ${loop.errors}`;
};
const describeFlow = (flow: Loop) =>
  `p50 create ${p50(flow, 'create').toFixed(1)}, add ${p50(flow, 'addItem').toFixed(1)}, place ${p50(flow, 'checkout?wait').toFixed(1)} ms; errors ${flow.errors}`;

/** The floor's activities on the application's pool. */
async function floorActivities(pool: Pool): Promise<FloorActivities & { noop(): Promise<void> }> {
  await pool.query('CREATE TABLE IF NOT EXISTS bench_floor_rows (id bigserial PRIMARY KEY, data jsonb NOT NULL, at timestamptz NOT NULL DEFAULT now())');
  return {
    noop: async () => undefined,
    selectOne: async () => void (await pool.query('select 1')),
    lookUpAndInsert: async () => {
      await pool.query('select 1');
      await pool.query('INSERT INTO bench_floor_rows (data) VALUES ($1)', [{ type: 'ItemAdded', quantity: 1 }]);
    },
  };
}

/**
 * The HTTP floor's server: one bare express route, in this process like the API in the checkout
 * section, that sends the `command` update to the workflow its path names through the same client.
 */
async function httpFloor(client: Client): Promise<{ url: (workflowId: string) => string; close(): Promise<void> }> {
  const app = express();
  app.use(express.json());
  app.post('/floor/:workflowId/items', async (req, res) => {
    await client.workflow.getHandle(req.params.workflowId).executeUpdate(floorUpdates.command);
    res.json({ workflowId: req.params.workflowId, status: 'accepted' });
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: (workflowId) => `${base}/floor/${workflowId}/items`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export async function benchFloor(out: BenchResults, pool: Pool, client: Client, temporalAddress: string): Promise<void> {
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('./floorWorkflows'), logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect({ address: temporalAddress });
  const worker = await Worker.create({
    connection,
    namespace: 'default',
    taskQueue: FLOOR_QUEUE,
    workflowBundle: { code },
    activities: await floorActivities(pool),
  });
  const running = worker.run();
  const http = await httpFloor(client);
  const figures: FloorFigures = {
    updates: { none: {}, regular: {}, local: {}, command: {} },
    http: {},
    flow: {},
    localFlow: {},
    inlineSagaFlow: {},
    deposit: {},
  };
  // One long-lived workflow per client, started before the clock runs: only the updates are timed.
  const updateTargets = (c: number, kind: string) =>
    Promise.all(
      Array.from({ length: c }, (_, i) =>
        client.workflow.start(floorUpdateWorkflow, { workflowId: `floor-${kind}-${c}-${i}-${randomUUID()}`, taskQueue: FLOOR_QUEUE }),
      ),
    );
  try {
    for (const c of LEVELS) {
      for (const kind of ['none', 'regular', 'local', 'command'] as const) {
        const handles = await updateTargets(c, kind);
        const update = floorUpdates[kind];
        const loop = await closedLoop(c, cfg.floorSeconds, (lat, i) => timed(lat, 'update', () => handles[i]!.executeUpdate(update)));
        await Promise.all(handles.map((h) => h.signal(stopSignal)));
        figures.updates[kind][c] = loop;
        progress(`floor c=${c}: update (${kind}) p50 ${p50(loop, 'update').toFixed(1)} ms, ${loop.rate.toFixed(1)}/s`);
        out.rows.push({
          section: 'floor',
          case: `${UPDATE_CASES[kind]}, c=${c}`,
          ours: p50(loop, 'update'),
          baseline: kind === 'none' ? NaN : p50(figures.updates.none[c], 'update'),
          unit: 'ms',
          higherIsBetter: false,
          note: describe(loop, 'update'),
        });
      }
      const handles = await updateTargets(c, 'http');
      const body = JSON.stringify({ productId: randomUUID(), quantity: 1 });
      const viaHttp = await closedLoop(c, cfg.floorSeconds, (lat, i) =>
        timed(lat, 'command', async () => {
          const answer = await fetch(http.url(handles[i]!.workflowId), { method: 'POST', headers: { 'content-type': 'application/json' }, body });
          await answer.json();
          if (!answer.ok) throw new Error(`HTTP floor ${answer.status}`);
        }),
      );
      await Promise.all(handles.map((h) => h.signal(stopSignal)));
      figures.http[c] = viaHttp;
      progress(`floor c=${c}: HTTP floor p50 ${p50(viaHttp, 'command').toFixed(1)} ms`);
      out.rows.push({
        section: 'floor',
        case: `HTTP floor p50: that update behind a bare express route (JSON parser only: no auth, rate limit or database), c=${c}`,
        ours: p50(viaHttp, 'command'),
        baseline: p50(figures.updates.command[c], 'update'),
        unit: 'ms',
        higherIsBetter: false,
        note: describe(viaHttp, 'command'),
      });
      for (const { key, shape, label } of FLOWS) {
        const flow = await closedLoop(c, cfg.floorSeconds, bareOrder(client, FLOOR_QUEUE, shape));
        figures[key][c] = flow;
        progress(`floor c=${c}: ${key} ${flow.rate.toFixed(2)} orders/s`);
        out.rows.push({
          section: 'floor',
          case: `${label}, c=${c}`,
          ours: flow.rate,
          // The local-steps flow against the activity-free one (what the 10 local activities cost); the inline saga against the local-steps flow (what the child costs).
          baseline: key === 'flow' ? NaN : key === 'localFlow' ? figures.flow[c]!.rate : figures.localFlow[c]!.rate,
          unit: 'orders/s',
          higherIsBetter: true,
          note: describeFlow(flow),
        });
      }
      const customers = Array.from({ length: c }, (_, i) => `floor-customer-${i}-${randomUUID().slice(0, 6)}`);
      const deposit = await closedLoop(c, cfg.floorSeconds, (lat, i) =>
        timed(lat, 'deposit', () =>
          executeAccountCommand(pool, { type: 'Deposit', customerId: customers[i]!, amountCents: 100 }, commandMetadata(randomUUID(), 'bench')),
        ).then(() => undefined),
      );
      figures.deposit[c] = deposit;
      out.rows.push({
        section: 'floor',
        case: `deposit p50 (Postgres only: the account command handler, no Temporal), c=${c}`,
        ours: p50(deposit, 'deposit'),
        baseline: p50(figures.updates.none[c], 'update'),
        unit: 'ms',
        higherIsBetter: false,
        note: describe(deposit, 'deposit'),
      });
    }
  } finally {
    await http.close();
    worker.shutdown();
    await running.catch(() => undefined);
    await connection.close();
  }
  out.details.floor = figures;
}

/**
 * Issue 14's targets, from the floor and the checkout sections of the same run: each order command
 * and checkout?wait at c = 1 against the bare update, and checkout throughput at c = 32 against
 * the Temporal floor flow and the bare-workflow baseline. Each row's note sets ours against the
 * bounds the floor measured for it: the floor flows' same step (what Temporal alone charges, and
 * with our local activities), and for add item the HTTP floor. Rows whose figures were not
 * measured (a section or a level left out) are skipped.
 */
export function floorTargets(out: BenchResults): void {
  const floor = out.details.floor as FloorFigures | undefined;
  const checkout = (c: number) => out.details[`checkout c=${c}`] as { ours: Loop; bare: Loop } | undefined;
  const bareUpdate = p50(floor?.updates.none[1], 'update');
  const against = (label: string, ours: number, bound: number, unit: string) =>
    `${label}: ${bound.toFixed(1)} ${unit}, ours ${(ours / bound).toFixed(2)}× that`;
  const c1 = checkout(1);
  if (floor && c1) {
    for (const [key, label, limit] of [
      ['create', 'create (update-with-start, over HTTP)', 1.5],
      ['addItem', 'add item (over HTTP)', 1.5],
      ['checkout?wait', 'checkout?wait=true (over HTTP)', 5],
    ] as const) {
      const ours = p50(c1.ours, key);
      // The floor flows' same step sets what Temporal alone charges for it (update-with-start starts a workflow too).
      const bounds = [
        against("the Temporal floor flow's same step", ours, p50(floor.flow[1], key), 'ms'),
        against("the local-steps floor flow's", ours, p50(floor.localFlow[1], key), 'ms'),
        against("with its saga in the order workflow (ours' shape)", ours, p50(floor.inlineSagaFlow[1], key), 'ms'),
      ];
      if (key === 'addItem') bounds.push(against('the HTTP floor', ours, p50(floor.http[1], 'command'), 'ms'));
      out.rows.push({
        section: 'targets',
        case: `${label} p50, c=1, against the bare update`,
        ours,
        baseline: bareUpdate,
        unit: 'ms',
        higherIsBetter: false,
        target: `≤ ${limit}×`,
        met: ours / bareUpdate <= limit,
        note: bounds.join('; '),
      });
    }
  }
  const c32 = checkout(32);
  const flow32 = floor?.flow[32];
  const localFlow32 = floor?.localFlow[32];
  const inlineSagaFlow32 = floor?.inlineSagaFlow[32];
  const localBound = (ours: number) =>
    localFlow32 && inlineSagaFlow32
      ? [
          against('the local-steps floor flow', ours, localFlow32.rate, 'orders/s'),
          against("with its saga in the order workflow (ours' shape)", ours, inlineSagaFlow32.rate, 'orders/s'),
        ].join('; ')
      : undefined;
  if (c32 && flow32) {
    out.rows.push({
      section: 'targets',
      case: 'checkout orders/s, c=32, against the Temporal floor flow',
      ours: c32.ours.rate,
      baseline: flow32.rate,
      unit: 'orders/s',
      higherIsBetter: true,
      target: '≥ 0.7×',
      met: c32.ours.rate / flow32.rate >= 0.7,
      note: localBound(c32.ours.rate),
    });
  }
  if (c32) {
    out.rows.push({
      section: 'targets',
      case: 'checkout orders/s, c=32, against the bare-workflow baseline (bareWorkflow.ts)',
      ours: c32.ours.rate,
      baseline: c32.bare.rate,
      unit: 'orders/s',
      higherIsBetter: true,
      target: '≥ 1.0×',
      met: c32.ours.rate / c32.bare.rate >= 1,
      note: localBound(c32.ours.rate),
    });
  }
}
