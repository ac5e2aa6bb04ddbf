import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { createPool } from '../db/pool';
import { migrate } from '../db/migrate';
import { writeWorkflowBundle } from '../worker';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './embeddedPostgres';
import { SupervisedProcess, type UnexpectedExit } from './supervisedProcess';
import { postgresServerOf, startTemporalCluster, type TemporalCluster, type TemporalClusterPorts } from './temporalCluster';
import { stopList } from './stopList';

const ROOT = path.resolve(__dirname, '..', '..');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface LocalCluster {
  databaseUrl: string;
  /** The embedded Postgres it started (unset with DATABASE_URL): chaos runs pause and resume it. */
  database?: EmbeddedDatabase;
  temporal: TemporalCluster;
  workers: SupervisedProcess[];
  apis: Array<{ url: string; process: SupervisedProcess }>;
  logDir: string;
  /** What it started itself, for the banner. */
  started: string[];
  stop(): Promise<void>;
}

export interface LocalClusterOptions {
  dataDir: string;
  /** Postgres for the app and Temporal's two databases; an embedded one in `dataDir` when unset. */
  databaseUrl?: string;
  postgresPort?: number;
  temporalPorts: TemporalClusterPorts;
  /** One API process per port. */
  apiPorts: number[];
  workerCount: number;
  /** A metrics port per worker, from this one up; none when unset. */
  workerMetricsPort?: number;
  namespace: string;
  taskQueue: string;
  /** The development token secret; unset with an identity provider (AUTH_JWKS_URL…). */
  authSecret?: string;
  /** Passed to every app process (LOG_LEVEL, rate limits, …). */
  appEnv?: NodeJS.ProcessEnv;
  /** Embedded Postgres is stopped by us on Ctrl-C, in order (see startEmbeddedPostgres). */
  callerHandlesSignals?: boolean;
  log: (line: string) => void;
  onUnexpectedExit?: (exit: UnexpectedExit) => void;
}

async function waitForReady(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${url}/readyz did not answer 200 within ${timeoutMs / 1000}s`);
    await sleep(500);
  }
}

/**
 * The production shape on one machine: Postgres, a Temporal cluster on it, and the app's workers
 * and API processes as separate processes with their own ports, as docker-compose.yml describes it.
 */
export async function startLocalCluster(options: LocalClusterOptions): Promise<LocalCluster> {
  const { dataDir, log } = options;
  const logDir = path.join(dataDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const stops = stopList();
  const started: string[] = [];
  const stop = stops.stopAll;
  try {
    let databaseUrl = options.databaseUrl;
    let database: EmbeddedDatabase | undefined;
    if (!databaseUrl) {
      const db = await startEmbeddedPostgres({
        dataDir: path.join(dataDir, 'postgres'),
        persistent: true,
        port: options.postgresPort,
        log,
        callerHandlesSignals: options.callerHandlesSignals,
      });
      stops.push(db.stop);
      database = db;
      started.push(`embedded Postgres (data in ${db.dataDir})`);
      databaseUrl = db.url;
    }
    // Migrate once here, so the app processes never race for the first migration.
    const pool = createPool(databaseUrl, 2);
    try {
      await migrate(pool);
    } finally {
      await pool.end();
    }
    const temporal = await startTemporalCluster({
      dataDir: path.join(dataDir, 'temporal'),
      postgres: postgresServerOf(databaseUrl),
      ports: options.temporalPorts,
      namespace: options.namespace,
      log,
      onUnexpectedExit: options.onUnexpectedExit,
    });
    stops.push(temporal.stop);
    started.push(`Temporal cluster (${Object.keys(temporal.services).join(', ')}, Web UI)`);

    // One bundle for both workers: each would otherwise spend seconds of CPU making the same file.
    const workflowBundle = await writeWorkflowBundle(dataDir);
    const appEnv: NodeJS.ProcessEnv = {
      ...process.env,
      ...options.appEnv,
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: options.namespace,
      TASK_QUEUE: options.taskQueue,
      ...(options.authSecret === undefined ? {} : { AUTH_SECRET: options.authSecret }),
      WORKFLOW_BUNDLE: workflowBundle,
    };
    const app = (name: string, entry: string, env: NodeJS.ProcessEnv) =>
      new SupervisedProcess(name, {
        command: process.execPath,
        args: ['--import', 'tsx', path.join(ROOT, 'src', 'bin', entry)],
        cwd: ROOT,
        env: { ...appEnv, ...env },
        logFile: path.join(logDir, `${name}.log`),
        onUnexpectedExit: options.onUnexpectedExit,
      });
    const workers = Array.from({ length: options.workerCount }, (_, i) =>
      app(`worker-${i + 1}`, 'worker.ts', options.workerMetricsPort === undefined ? {} : { WORKER_METRICS_PORT: String(options.workerMetricsPort + i) }),
    );
    const apis = options.apiPorts.map((port, i) => ({
      url: `http://127.0.0.1:${port}`,
      process: app(`api-${i + 1}`, 'api.ts', { PORT: String(port), HOST: '127.0.0.1' }),
    }));
    stops.push(async () => {
      // APIs first (no new commands), then workers, which drain their in-flight tasks on SIGTERM.
      await Promise.all(apis.map((a) => a.process.stop('SIGTERM')));
      await Promise.all(workers.map((w) => w.stop('SIGTERM', 30_000)));
    });
    log(`Starting ${workers.length} workers and ${apis.length} API processes; logs in ${logDir}`);
    for (const w of workers) w.start();
    for (const a of apis) a.process.start();
    // /readyz answers 200 once Postgres and Temporal answer and a worker polls the task queue.
    await Promise.all(apis.map((a) => waitForReady(a.url, 120_000)));
    return { databaseUrl, database, temporal, workers, apis, logDir, started, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
