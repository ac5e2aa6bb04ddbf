/** Section `memory` (not run by default): the worker process's RSS with many idle orders against the same process with none. */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { newCommandId, OrderGateway } from '../src/api/orderGateway';
import { loadConfig } from '../src/config';
import { orderWorkflowId } from '../src/workflows/orderContract';
import { cfg, median, progress, summary, sleep, warmPool, type BenchResults } from './support';

/** Only the memory section's worker process polls it, so every order it creates lives there. */
const MEMORY_QUEUE = 'orders-bench-memory';

/** Resident and peak resident set of a process in MB, from /proc (Linux only). */
function memoryOf(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const mb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) / 1024;
  return { rssMb: mb('VmRSS'), peakMb: mb('VmHWM') };
}

/** The median of 5 readings a second apart: a single one can land in the middle of a GC. */
async function steadyRssMb(pid: number): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    if (i > 0) await sleep(1000);
    samples.push(memoryOf(pid).rssMb);
  }
  return median(samples);
}

/**
 * The production worker (`src/bin/worker.ts`, projector included) in its own process, so its RSS
 * is its own. Resolves once it polls; `stop` sends SIGTERM, which drains it.
 */
async function startWorkerProcess(env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/bin/worker.ts'], { cwd: path.join(__dirname, '..'), env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const lastLines: string[] = [];
  /** Its warnings and errors (pino levels 40 and up), the last 50: what it said while creates were slow. */
  const complaints: string[] = [];
  let ready: () => void;
  const polling = new Promise<void>((resolve) => (ready = resolve));
  for (const stream of [child.stdout, child.stderr]) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      for (const line of chunk.split('\n').filter(Boolean)) {
        if (line.includes('"worker polling"')) ready();
        lastLines.push(line);
        if (lastLines.length > 20) lastLines.shift();
        if (/"level":(4|5|6)\d/.test(line) || !line.startsWith('{')) {
          complaints.push(line.slice(0, 400));
          if (complaints.length > 50) complaints.shift();
        }
      }
    });
  }
  const outcome = await Promise.race([
    polling.then(() => 'polling' as const),
    exited.then(() => 'exited' as const),
    sleep(180_000).then(() => 'timeout' as const),
  ]);
  const stop = async () => {
    child.kill('SIGTERM');
    if ((await Promise.race([exited.then(() => 'exited'), sleep(30_000)])) !== 'exited') child.kill('SIGKILL');
  };
  if (outcome !== 'polling') {
    await stop();
    throw new Error(`worker process ${outcome} before polling: ${lastLines.join('\n')}`);
  }
  return { pid: child.pid!, stop, complaints };
}

/** The worker's environment: the run's, its stack, and only the settings the bench was asked to override. */
function workerEnv(databaseUrl: string, temporalAddress: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS: temporalAddress, TASK_QUEUE: MEMORY_QUEUE, LOG_LEVEL: 'info' };
  if (cfg.memoryCachedWorkflows !== undefined) env.WORKER_MAX_CACHED_WORKFLOWS = cfg.memoryCachedWorkflows;
  if (cfg.memoryWorkflowHeapMb !== undefined) env.WORKER_WORKFLOW_HEAP_MB = cfg.memoryWorkflowHeapMb;
  const nodeOptions = [process.env.NODE_OPTIONS, cfg.memoryWorkerNodeOptions].filter(Boolean).join(' ');
  if (nodeOptions) env.NODE_OPTIONS = nodeOptions;
  return env;
}

export async function benchMemory(out: BenchResults, databaseUrl: string, client: Client, temporalAddress: string): Promise<void> {
  const env = workerEnv(databaseUrl, temporalAddress);
  // What the worker runs with, read as it reads it: its defaults unless overridden above.
  const { WORKER_MAX_CACHED_WORKFLOWS: cache, WORKER_WORKFLOW_HEAP_MB: heap } = loadConfig(env);
  const overridden = [cfg.memoryCachedWorkflows, cfg.memoryWorkflowHeapMb, env.NODE_OPTIONS].some((v) => v !== undefined);
  const settings = `${overridden ? 'overridden' : 'default'} settings: maxCachedWorkflows ${cache}, workflow heap ${heap} MB${env.NODE_OPTIONS ? `, NODE_OPTIONS ${env.NODE_OPTIONS}` : ''}`;
  const worker = await startWorkerProcess(env);
  const pool = await warmPool(databaseUrl, 2);
  try {
    await sleep(10_000); // past start-up (bundling, first polls) before the baseline
    const idleRssMb = await steadyRssMb(worker.pid);
    progress(
      `memory: worker process ${worker.pid} idle with 0 orders: ${idleRssMb.toFixed(0)} MB RSS; creating ${cfg.memoryOrders} orders, c=${cfg.memoryConcurrency}`,
    );
    // The actors expire after the cart TTL: long enough that none does during the run.
    const gateway = new OrderGateway(client, { taskQueue: MEMORY_QUEUE, cartTtlMs: 6 * 3_600_000, historyLimit: 2000 }, pool);
    const run = randomUUID().slice(0, 6);
    const created: string[] = [];
    const errors: string[] = [];
    /** Creates that took over 2 s or failed: when in the run, how long, and what they answered. */
    const slow: Array<{ order: number; atSeconds: number; ms: number; error?: string }> = [];
    const latencies: number[] = [];
    const trace: Array<{ orders: number; seconds: number; rssMb: number }> = [];
    const start = performance.now();
    const deadline = start + cfg.memorySeconds * 1000;
    let next = 0;
    await Promise.all(
      Array.from({ length: cfg.memoryConcurrency }, async () => {
        while (next < cfg.memoryOrders && performance.now() < deadline) {
          const order = next++;
          const orderId = `bench-mem-${run}-${order}`;
          const sent = performance.now();
          let error: string | undefined;
          try {
            await gateway.create(orderId, { orderId, customerId: `bench-mem-customer-${created.length % 100}` }, newCommandId());
            created.push(orderId);
          } catch (err) {
            error = (err as Error).message;
            errors.push(error);
          }
          const ms = performance.now() - sent;
          latencies.push(ms);
          if (ms > 2000 || error) slow.push({ order, atSeconds: (sent - start) / 1000, ms, ...(error ? { error } : {}) });
          if ((created.length + errors.length) % 500 === 0) {
            const seconds = (performance.now() - start) / 1000;
            const { rssMb } = memoryOf(worker.pid);
            trace.push({ orders: created.length, seconds, rssMb });
            progress(
              `memory: ${created.length}/${cfg.memoryOrders} orders (${errors.length} errors), ${(created.length / seconds).toFixed(1)} orders/s, worker RSS ${rssMb.toFixed(0)} MB`,
            );
          }
        }
      }),
    );
    const createSeconds = (performance.now() - start) / 1000;
    await sleep(10_000); // let the last tasks finish and the cache settle
    const loadedRssMb = await steadyRssMb(worker.pid);
    const { peakMb } = memoryOf(worker.pid);
    // They are idle PENDING orders: ask a sample (each query replays an evicted actor, a few only).
    const statuses: Record<string, number> = {};
    for (const orderId of created.filter((_, i) => i % Math.max(1, Math.floor(created.length / 20)) === 0)) {
      const status = (await gateway.snapshot(orderId))?.state.status ?? 'not running';
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
    // What the slowest creates' histories say: a workflow task that timed out (lost by the worker) or failed.
    const slowest = [...slow].sort((a, b) => b.ms - a.ms).slice(0, 10);
    const slowHistories = await Promise.all(
      slowest.map(async ({ order, ms }) => {
        const events = (await client.workflow.getHandle(orderWorkflowId(`bench-mem-${run}-${order}`)).fetchHistory()).events ?? [];
        const count = (has: (e: (typeof events)[number]) => unknown) => events.filter(has).length;
        return {
          order,
          ms,
          taskTimeouts: count((e) => e.workflowTaskTimedOutEventAttributes),
          taskFailures: count((e) => e.workflowTaskFailedEventAttributes),
        };
      }),
    );
    const kbPerOrder = ((loadedRssMb - idleRssMb) * 1024) / Math.max(1, created.length);
    out.details.memory = {
      orders: created.length,
      errors: errors.length,
      firstErrors: errors.slice(0, 3),
      createMs: { ...summary(latencies), max: Math.max(...latencies) },
      slowCreates: slow.slice(0, 100),
      slowHistories,
      workerComplaints: worker.complaints,
      createSeconds,
      idleRssMb,
      loadedRssMb,
      peakMb,
      kbPerOrder,
      sampledStatuses: statuses,
      trace,
      settings,
    };
    out.rows.push({
      section: 'memory',
      case: `worker RSS, ${created.length} idle PENDING orders, ${settings}`,
      ours: loadedRssMb,
      baseline: idleRssMb,
      unit: 'MB',
      higherIsBetter: false,
      target: '≤ 500 MB',
      met: loadedRssMb <= 500 && created.length >= 10_000,
      note: `baseline: the same worker process idle with 0 orders; ${kbPerOrder.toFixed(1)} KB per order; peak ${peakMb.toFixed(0)} MB; sampled statuses ${JSON.stringify(statuses)}`,
    });
    out.rows.push({
      section: 'memory',
      case: `order creates (update-with-start + first append), c=${cfg.memoryConcurrency}`,
      ours: created.length / createSeconds,
      baseline: NaN,
      unit: 'orders/s',
      higherIsBetter: true,
      note: `${errors.length} errors`,
    });
    progress(
      `memory: ${created.length} orders in ${createSeconds.toFixed(0)} s; worker RSS ${idleRssMb.toFixed(0)} MB idle -> ${loadedRssMb.toFixed(0)} MB (peak ${peakMb.toFixed(0)} MB); sampled ${JSON.stringify(statuses)}`,
    );
  } finally {
    await pool.end();
    await worker.stop();
  }
}
