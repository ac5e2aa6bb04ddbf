/**
 * `npm run chaos`: concurrent checkouts competing for scarce stock and funds while faults hit the
 * service, each fault in its own scenario on one stack the run starts itself (free ports, a
 * throwaway folder), in one of two shapes:
 * - `dev` (default): embedded Postgres, the Temporal dev server, one worker and one API process;
 * - `cluster` (CHAOS_SHAPE=cluster): `npm run start:cluster`'s shape, a Temporal cluster on embedded
 *   Postgres as four processes, two workers and two API processes; the load is spread over both
 *   APIs and fails over to the other when one refuses connections.
 * Shows a progress bar per scenario (plain lines when not on a terminal), then a table;
 * writes it to chaos-results/. Exits 1 when any order did not settle, any invariant or
 * exactly-once check failed, or the API answered a 5xx other than 503 (or a 503 without
 * Retry-After); 2 when the run itself could not proceed.
 *
 * Environment: CHAOS_SHAPE (dev | cluster), CHAOS_ORDERS (200), CHAOS_SEED (1), CHAOS_FAULTS (all:
 * worker-kill,postgres-stop,api-kill,temporal-restart), CHAOS_PG_DOWN_MS (5000), CHAOS_API_DOWN_MS
 * (cluster: how long the killed API stays down, 5000; the dev shape restarts its only API at once),
 * CHAOS_TIME_LIMIT_MS (1200000: past it the run stops and reports the scenarios it finished, and
 * fails), CHAOS_RESULTS_DIR (chaos-results), CHAOS_KEEP_DATA (keep the folder, with every
 * process's log, for a post-mortem).
 */
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { progressBar, type Progress } from '../src/operations/progress';
import { apiKill, postgresOutage, temporalRestart, workerKill, type Fault } from './faults';
import { formatTable, writeReport, type ChaosReport } from './report';
import { runScenario } from './scenario';
import { startClusterChaosStack } from './clusterStack';
import { startDevChaosStack } from './stack';

function envInt(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive whole number`);
  return value;
}

type Shape = 'dev' | 'cluster';

function chosenShape(): Shape {
  const shape = process.env.CHAOS_SHAPE || 'dev';
  if (shape !== 'dev' && shape !== 'cluster') throw new Error(`CHAOS_SHAPE must be dev or cluster, not ${shape}`);
  return shape;
}

/**
 * The same four faults on either shape. The cluster's SIGKILL its Temporal history and frontend
 * (the dev server, one process, gets SIGTERM) and keep the killed API down for a while, so the
 * clients fail over to the other.
 */
function chosenFaults(shape: Shape): Fault[] {
  const pgDown = envInt('CHAOS_PG_DOWN_MS', 5000);
  const all =
    shape === 'dev'
      ? [workerKill(3), postgresOutage(pgDown), apiKill(0), temporalRestart(['dev server'], 'SIGTERM')]
      : [workerKill(3), postgresOutage(pgDown), apiKill(envInt('CHAOS_API_DOWN_MS', 5000)), temporalRestart(['history', 'frontend'], 'SIGKILL')];
  const wanted = process.env.CHAOS_FAULTS?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!wanted) return all;
  const unknown = wanted.filter((w) => !all.some((f) => f.slug === w));
  if (unknown.length > 0) throw new Error(`Unknown CHAOS_FAULTS ${unknown.join(', ')}; choose from ${all.map((f) => f.slug).join(', ')}`);
  return all.filter((f) => wanted.includes(f.slug));
}

async function main(): Promise<number> {
  const orders = envInt('CHAOS_ORDERS', 200);
  const seed = envInt('CHAOS_SEED', 1);
  const shape = chosenShape();
  const faults = chosenFaults(shape);
  const timeLimitMs = envInt('CHAOS_TIME_LIMIT_MS', 20 * 60_000);
  const resultsDir = path.resolve(process.env.CHAOS_RESULTS_DIR ?? path.join(__dirname, '..', 'chaos-results'));
  /** The running scenario's progress bar: lines said meanwhile go above it. */
  let bar: Progress | undefined;
  const say = (line: string) => (bar ? bar.log(line) : process.stderr.write(`${line}\n`));
  const report: ChaosReport = {
    command: `${shape === 'cluster' ? 'CHAOS_SHAPE=cluster ' : ''}CHAOS_ORDERS=${orders} CHAOS_SEED=${seed}${process.env.CHAOS_FAULTS ? ` CHAOS_FAULTS=${process.env.CHAOS_FAULTS}` : ''} npm run chaos`,
    shape: '',
    startedAt: new Date().toISOString(),
    loadAverage: { start: loadavg(), end: [] },
    cpus: cpus().length,
    results: [],
  };
  /** Prints and writes the table of the scenarios finished so far; the exit code. */
  const finish = (complete: boolean): number => {
    report.loadAverage.end = loadavg();
    process.stdout.write(`\n${formatTable(report.results)}\n\n`);
    const file = writeReport(resultsDir, report);
    say(
      `Load average at start ${report.loadAverage.start.map((l) => l.toFixed(2)).join(' ')}, at end ${report.loadAverage.end.map((l) => l.toFixed(2)).join(' ')}; written to ${path.relative(process.cwd(), file)}`,
    );
    return complete && report.results.every((r) => r.passed) ? 0 : 1;
  };

  say(
    `Chaos (${shape} shape): ${orders} orders per fault, faults: ${faults.map((f) => f.slug).join(', ')}; load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const startedAt = Date.now();
  const stack = await (shape === 'cluster' ? startClusterChaosStack : startDevChaosStack)(say);
  report.shape = stack.shape;
  say(
    `${stack.shape} up in ${((Date.now() - startedAt) / 1000).toFixed(1)}s (API ${stack.apiUrls.join(', ')}, Temporal ${stack.temporalAddress}, data ${stack.dataDir})`,
  );
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= stack.stop());
  process.on('SIGINT', () => void stop().then(() => process.exit(130)));
  process.on('SIGTERM', () => void stop().then(() => process.exit(143)));
  process.on('exit', () => stack.killNow());
  // Bounded in time: past the limit, stop everything and report what there is.
  const limit = setTimeout(
    () => {
      say(`\nTime limit of ${timeLimitMs / 1000}s reached; stopping.`);
      const code = finish(false);
      void stop().then(() => process.exit(code));
    },
    timeLimitMs - (Date.now() - startedAt),
  );
  limit.unref();

  try {
    for (const fault of faults) {
      bar = progressBar({ label: `[${fault.name}]`, total: orders, unit: 'outcomes' });
      const result = await runScenario(stack, fault, {
        orders,
        seed,
        settleTimeoutMs: 180_000,
        onProgress: ({ settled, orders: total, note }) => bar?.update(settled, { total, note }),
      });
      bar.finish(`[${fault.name}] ${result.passed ? 'passed' : 'FAILED'} in ${(result.durationMs / 1000).toFixed(1)}s`);
      bar = undefined;
      report.results.push(result);
    }
  } finally {
    clearTimeout(limit);
    await stop();
  }
  return finish(true);
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`\nchaos run could not proceed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(2);
  },
);
