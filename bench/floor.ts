/**
 * Section `floor`: what Temporal and Postgres cost by themselves, on this machine in this run, so
 * the order service's figures can be read against them (issue 14). At c = 1 and c = 32: an update
 * that does nothing, one that awaits a regular activity and one that awaits a local activity
 * (each `select 1`); the "Temporal floor" flow (a checkout's updates and child workflow, no
 * activities); and a Postgres-only command (a deposit through the application's handler).
 * `floorTargets` then sets the checkout section's figures against these.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Worker } from '@temporalio/worker';
import { executeAccountCommand } from '../src/application/accounts';
import { commandMetadata } from '../src/application/commandMetadata';
import type { Pool } from '../src/db/pool';
import { bareOrder } from './checkout';
import { floorUpdates, floorUpdateWorkflow, stopSignal, type FloorUpdateKind } from './floorWorkflows';
import { cfg, closedLoop, progress, timed, type BenchResults } from './support';

const FLOOR_QUEUE = 'floor-bench';
const LEVELS = [1, 32];
type Loop = Awaited<ReturnType<typeof closedLoop>>;

/** What the floor section measured, kept in the results for `floorTargets`. */
interface FloorFigures {
  updates: Record<FloorUpdateKind, Record<number, Loop>>;
  flow: Record<number, Loop>;
  deposit: Record<number, Loop>;
}

const p50 = (loop: Loop | undefined, key: string) => loop?.lat[key]?.p50 ?? NaN;
const describe = (loop: Loop, key: string) => {
  const l = loop.lat[key];
  return `p95 ${l?.p95.toFixed(1)} ms, ${loop.rate.toFixed(1)}/s, n ${l?.n}, errors ${loop.errors}`;
};

export async function benchFloor(out: BenchResults, pool: Pool, client: Client, temporalAddress: string): Promise<void> {
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('./floorWorkflows'), logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect({ address: temporalAddress });
  const worker = await Worker.create({
    connection,
    namespace: 'default',
    taskQueue: FLOOR_QUEUE,
    workflowBundle: { code },
    activities: { noop: async () => undefined, selectOne: async () => void (await pool.query('select 1')) },
  });
  const running = worker.run();
  const figures: FloorFigures = { updates: { none: {}, regular: {}, local: {} }, flow: {}, deposit: {} };
  try {
    for (const c of LEVELS) {
      for (const kind of ['none', 'regular', 'local'] as const) {
        // One long-lived workflow per client, started before the clock runs: only the updates are timed.
        const handles = await Promise.all(
          Array.from({ length: c }, (_, i) =>
            client.workflow.start(floorUpdateWorkflow, { workflowId: `floor-${kind}-${c}-${i}-${randomUUID()}`, taskQueue: FLOOR_QUEUE }),
          ),
        );
        const update = floorUpdates[kind];
        const loop = await closedLoop(c, cfg.floorSeconds, (lat, i) => timed(lat, 'update', () => handles[i]!.executeUpdate(update)));
        await Promise.all(handles.map((h) => h.signal(stopSignal)));
        figures.updates[kind][c] = loop;
        progress(`floor c=${c}: update (${kind}) p50 ${p50(loop, 'update').toFixed(1)} ms, ${loop.rate.toFixed(1)}/s`);
        out.rows.push({
          section: 'floor',
          case: kind === 'none' ? `bare update p50, no activity, c=${c}` : `bare update p50, one ${kind} activity (select 1), c=${c}`,
          ours: p50(loop, 'update'),
          baseline: kind === 'none' ? NaN : p50(figures.updates.none[c], 'update'),
          unit: 'ms',
          higherIsBetter: false,
          note: describe(loop, 'update'),
        });
      }
      const flow = await closedLoop(c, cfg.floorSeconds, bareOrder(client, FLOOR_QUEUE, false));
      figures.flow[c] = flow;
      progress(`floor c=${c}: Temporal floor flow ${flow.rate.toFixed(2)} orders/s`);
      out.rows.push({
        section: 'floor',
        case: `Temporal floor flow orders/s (a checkout's updates and child workflow, no activities), c=${c}`,
        ours: flow.rate,
        baseline: NaN,
        unit: 'orders/s',
        higherIsBetter: true,
        note: `p50 create ${p50(flow, 'create').toFixed(1)}, add ${p50(flow, 'addItem').toFixed(1)}, place ${p50(flow, 'checkout?wait').toFixed(1)} ms; errors ${flow.errors}`,
      });
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
    worker.shutdown();
    await running.catch(() => undefined);
    await connection.close();
  }
  out.details.floor = figures;
}

/**
 * Issue 14's targets, from the floor and the checkout sections of the same run: each order command
 * and checkout?wait at c = 1 against the bare update, and checkout throughput at c = 32 against
 * the Temporal floor flow and the bare-workflow baseline. Rows whose figures were not measured
 * (a section or a level left out) are skipped.
 */
export function floorTargets(out: BenchResults): void {
  const floor = out.details.floor as FloorFigures | undefined;
  const checkout = (c: number) => out.details[`checkout c=${c}`] as { ours: Loop; bare: Loop } | undefined;
  const bareUpdate = p50(floor?.updates.none[1], 'update');
  const c1 = checkout(1);
  if (floor && c1) {
    for (const [key, label, limit] of [
      ['create', 'create (update-with-start, over HTTP)', 1.5],
      ['addItem', 'add item (over HTTP)', 1.5],
      ['checkout?wait', 'checkout?wait=true (over HTTP)', 5],
    ] as const) {
      const ours = p50(c1.ours, key);
      // The floor flow's same step sets what Temporal alone charges for it (update-with-start starts a workflow too).
      const floorStep = p50(floor.flow[1], key);
      out.rows.push({
        section: 'targets',
        case: `${label} p50, c=1, against the bare update`,
        ours,
        baseline: bareUpdate,
        unit: 'ms',
        higherIsBetter: false,
        target: `≤ ${limit}×`,
        met: ours / bareUpdate <= limit,
        note: `the Temporal floor flow's same step: ${floorStep.toFixed(1)} ms, ours ${(ours / floorStep).toFixed(2)}× that`,
      });
    }
  }
  const c32 = checkout(32);
  const flow32 = floor?.flow[32];
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
    });
  }
}
