/** Production worker: hosts order actors and activities. Configured only by the environment. */
// First: tracing must be registered before http, express and pg load.
import '../telemetry/register';
import { Runtime } from '@temporalio/worker';
import { loadConfig, required, temporalTelemetry } from '../config';
import { createPool } from '../db/pool';
import { migrate } from '../db/migrate';
import { createLogger } from '../logger';
import { sdkMetricsFrom, serveMetrics } from '../metrics';
import { allProjections, Projector } from '../projections';
import { activeTracing } from '../telemetry';
import { connectWorker } from '../temporal';
import { bundleWorkflowsInChild, createOrderWorker } from '../worker';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL, 'worker');
  Runtime.install({ shutdownSignals: ['SIGINT', 'SIGTERM'], telemetryOptions: temporalTelemetry(config) });
  // The SDK's Prometheus exporter (TEMPORAL_METRICS_PORT) is read through too, so one scrape of /metrics has both.
  const sdkMetrics = config.TEMPORAL_METRICS_PORT === undefined ? undefined : `http://${config.HOST}:${config.TEMPORAL_METRICS_PORT}/metrics`;
  const alsoServe = sdkMetrics
    ? sdkMetricsFrom(sdkMetrics, (err) => logger.warn({ err, url: sdkMetrics }, 'Temporal SDK metrics not read: /metrics answered without them'))
    : undefined;
  const metricsServer = config.WORKER_METRICS_PORT === undefined ? undefined : await serveMetrics(config.WORKER_METRICS_PORT, config.HOST, alsoServe);
  const databaseUrl = required(config, 'DATABASE_URL');
  const pool = createPool(databaseUrl, undefined, config.DATABASE_POOL_TIMEOUT_MS);
  await migrate(pool);
  // Every worker runs the projector; an advisory lock per projection keeps one instance active.
  const projector = new Projector(pool, databaseUrl, allProjections, { logger }).start();
  const connection = await connectWorker(required(config, 'TEMPORAL_ADDRESS'));
  const worker = await createOrderWorker({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TASK_QUEUE,
    db: pool,
    maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS,
    workflowHeapMb: config.WORKER_WORKFLOW_HEAP_MB,
    workflowBundle: config.WORKFLOW_BUNDLE ? { codePath: config.WORKFLOW_BUNDLE } : { code: await bundleWorkflowsInChild() },
  });
  logger.info({ taskQueue: config.TASK_QUEUE }, 'worker polling');
  await worker.run(); // returns once a shutdown signal has drained the worker
  await projector.stop();
  metricsServer?.close();
  await connection.close();
  await pool.end();
  await activeTracing()?.shutdown();
}

main().catch((err) => {
  process.stderr.write(`worker failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
