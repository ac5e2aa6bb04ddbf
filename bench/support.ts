/** What every bench section shares: the sizes, the time budget, progress lines, results and statistics. */
import { randomUUID } from 'node:crypto';
import { createPool, type Pool } from '../src/db/pool';
import { type EventData } from '../src/eventstore';
import { currentSchemaVersion } from '../src/domain/eventSchemas';

const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
export const cfg = {
  appendEvents: num('BENCH_APPEND_EVENTS', 2000),
  appendLevels: (process.env.BENCH_APPEND_LEVELS ?? '1,8,32').split(',').map(Number),
  batchEvents: num('BENCH_BATCH_EVENTS', 10_000),
  foldEvents: num('BENCH_FOLD_EVENTS', 10_000),
  foldRuns: num('BENCH_FOLD_RUNS', 5),
  checkoutLevels: (process.env.BENCH_CHECKOUT_LEVELS ?? '1,8,32').split(',').map(Number),
  checkoutSeconds: num('BENCH_CHECKOUT_SECONDS', 15),
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
};
/** The task queue of the in-process worker the run starts; the checkout section's API sends to it. */
export const TASK_QUEUE = 'orders-bench';
const t0 = Date.now();
export const progress = (msg: string) => process.stderr.write(`[bench ${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}\n`);
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
