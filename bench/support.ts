/** What every bench section shares: the sizes, the time budget, progress lines, results and statistics. */
import { randomUUID } from 'node:crypto';
import { createPool, type Pool } from '../src/db/pool';
import { type EventData } from '../src/eventstore';
import { currentSchemaVersion } from '../src/domain/eventSchemas';
import { progressBar } from '../src/operations/progress';

const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
export const cfg = {
  appendEvents: num('BENCH_APPEND_EVENTS', 2000),
  appendLevels: (process.env.BENCH_APPEND_LEVELS ?? '1,8,32').split(',').map(Number),
  batchEvents: num('BENCH_BATCH_EVENTS', 10_000),
  foldEvents: num('BENCH_FOLD_EVENTS', 10_000),
  foldRuns: num('BENCH_FOLD_RUNS', 5),
  checkoutLevels: (process.env.BENCH_CHECKOUT_LEVELS ?? '1,8,32').split(',').map(Number),
  checkoutSeconds: num('BENCH_CHECKOUT_SECONDS', 15),
  lagConcurrency: num('BENCH_LAG_CONCURRENCY', 32),
  lagSeconds: num('BENCH_LAG_SECONDS', 10),
  lagQuietEvents: num('BENCH_LAG_QUIET_EVENTS', 20),
  rebuildEvents: num('BENCH_REBUILD_EVENTS', 50_000),
  memoryOrders: num('BENCH_MEMORY_ORDERS', 10_000),
  /** Overrides of the worker's own defaults (WORKER_MAX_CACHED_WORKFLOWS, WORKER_WORKFLOW_HEAP_MB); unset: the defaults are measured. */
  memoryCachedWorkflows: process.env.BENCH_MEMORY_CACHED_WORKFLOWS,
  memoryWorkflowHeapMb: process.env.BENCH_MEMORY_WORKFLOW_HEAP_MB,
  memoryConcurrency: num('BENCH_MEMORY_CONCURRENCY', 32),
  /** The memory section stops creating orders after this long and measures what it has. */
  memorySeconds: num('BENCH_MEMORY_SECONDS', 900),
  /** Node flags of the memory section's worker process, e.g. `--max-old-space-size=256`. */
  memoryWorkerNodeOptions: process.env.BENCH_MEMORY_WORKER_NODE_OPTIONS ?? '',
  /** Hard time budget for the whole run: sections that would start after it are skipped. */
  budgetSeconds: num('BENCH_BUDGET_SECONDS', 240),
  /** Seconds of each floor measurement (section `floor`: 10 of them, at c = 1 and c = 32). */
  floorSeconds: num('BENCH_FLOOR_SECONDS', 5),
  /** Section `cluster`: seconds and concurrency of the checkout load on the cluster shape, with 1 and then 2 workers. */
  clusterSeconds: num('BENCH_CLUSTER_SECONDS', 15),
  clusterConcurrency: num('BENCH_CLUSTER_C', 32),
};
/** The task queue of the in-process worker the run starts; the checkout section's API sends to it. */
export const TASK_QUEUE = 'orders-bench';
const t0 = Date.now();
/** The run against its time budget: on a terminal a bar under the lines (time used, time left), plain lines otherwise. */
const budget = progressBar({ label: 'bench budget', total: cfg.budgetSeconds, unit: 's', showRate: false, plainEveryMs: Infinity });
export const progress = (msg: string) => {
  const seconds = (Date.now() - t0) / 1000;
  budget.log(`[bench ${seconds.toFixed(1)}s] ${msg}`);
  budget.update(Math.min(Math.round(seconds), cfg.budgetSeconds));
};
export const overBudget = () => Date.now() - t0 > cfg.budgetSeconds * 1000;
export const secondsSinceStart = () => (Date.now() - t0) / 1000;

export interface Row {
  section: string;
  case: string;
  ours: number;
  baseline: number;
  unit: string;
  higherIsBetter: boolean;
  target?: string;
  met?: boolean;
  note?: string;
}

/** What the sections found: the table's rows, what they skipped, and the raw figures for the JSON. */
export interface BenchResults {
  rows: Row[];
  skipped: string[];
  details: Record<string, unknown>;
}

export function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
export const median = (xs: number[]) =>
  pct(
    [...xs].sort((a, b) => a - b),
    50,
  );
export const summary = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, p50: pct(s, 50), p95: pct(s, 95), p99: pct(s, 99) };
};

export const ev = (streamType: string, type: string, data: unknown): EventData => ({
  eventId: randomUUID(),
  type,
  data,
  schemaVersion: currentSchemaVersion(streamType, type),
  occurredAt: new Date(),
});

/** A pool with all `max` connections open, so no measurement pays for connecting. */
export async function warmPool(url: string, max: number): Promise<Pool> {
  const p = createPool(url, max);
  await Promise.all(Array.from({ length: max }, () => p.query('SELECT 1')));
  return p;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `c` clients, each running `one` back to back for `seconds`: completions per second, errors, and the latencies `one` recorded. */
export async function closedLoop(c: number, seconds: number, one: (lat: Record<string, number[]>, clientIndex: number) => Promise<void>) {
  const lat: Record<string, number[]> = {};
  let done = 0;
  let errors = 0;
  const firstError: string[] = [];
  const deadline = performance.now() + seconds * 1000;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: c }, async (_, clientIndex) => {
      while (performance.now() < deadline) {
        try {
          await one(lat, clientIndex);
          done++;
        } catch (err) {
          errors++;
          if (firstError.length < 3) firstError.push(String((err as Error).message));
        }
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  return { rate: done / elapsed, done, errors, firstError, lat: Object.fromEntries(Object.entries(lat).map(([k, v]) => [k, summary(v)])) };
}

/** Runs `fn` and records its latency under `key`. */
export const timed = async <T>(lat: Record<string, number[]>, key: string, fn: () => Promise<T>): Promise<T> => {
  const a = performance.now();
  const r = await fn();
  (lat[key] ??= []).push(performance.now() - a);
  return r;
};
