/**
 * `npm run start:cluster`: the production shape on one machine. Embedded Postgres (unless
 * DATABASE_URL) holding the app's database and Temporal's two; the Temporal server on it as four
 * processes (frontend, history, matching, worker) with SQL visibility; the Web UI server; two
 * workers and two API processes. Ctrl-C stops everything it started; state persists in
 * DATA_DIR/cluster.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { loadConfig, tokenSettings } from '../config';
import { devAuthSecret, devTokenLines } from '../devstack/devAuth';
import { startLocalCluster } from '../devstack/localCluster';
import { stopOnSignals } from '../devstack/stopOnSignals';
import { clusterPorts } from '../devstack/temporalCluster';

const WORKERS = 2;
const APIS = 2;

async function main(): Promise<void> {
  const config = loadConfig();
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const dataDir = path.resolve(config.DATA_DIR, 'cluster');
  mkdirSync(dataDir, { recursive: true });
  const tokens = tokenSettings(config, () => devAuthSecret(config.DATA_DIR, undefined));
  const startedAt = Date.now();
  // Same ports as `npm start` for the first API, Temporal and its UI, so the README's examples work on either.
  const cluster = await startLocalCluster({
    dataDir,
    databaseUrl: config.DATABASE_URL,
    postgresPort: config.EMBEDDED_PG_PORT,
    temporalPorts: clusterPorts({ frontend: config.TEMPORAL_PORT, ui: config.TEMPORAL_UI_PORT }),
    apiPorts: Array.from({ length: APIS }, (_, i) => config.PORT + i),
    workerCount: WORKERS,
    workerMetricsPort: config.WORKER_METRICS_PORT,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TASK_QUEUE,
    // With an identity provider the processes read its AUTH_* settings from the environment they inherit.
    authSecret: 'secret' in tokens ? tokens.secret : undefined,
    callerHandlesSignals: true,
    log: say,
    onUnexpectedExit: (exit) =>
      say(`${exit.name} exited (code ${exit.code}, signal ${exit.signal}); restarting it. See its log in ${path.join(dataDir, 'logs')}`),
  });

  say('');
  say(`Order service cluster ready in ${((Date.now() - startedAt) / 1000).toFixed(1)}s`);
  for (const [i, api] of cluster.apis.entries()) say(`  API ${i + 1}:           ${api.url}`);
  say(`  Temporal Web UI: ${cluster.temporal.uiUrl}`);
  say(`  Temporal:        ${cluster.temporal.address} (namespace ${config.TEMPORAL_NAMESPACE}, task queue ${config.TASK_QUEUE})`);
  say(`  Workers:         ${cluster.workers.length}, pids ${cluster.workers.map((w) => w.pid).join(', ')}`);
  if (!config.DATABASE_URL) say(`  Postgres:        ${cluster.databaseUrl} (embedded)`);
  say(`  Started here:    ${cluster.started.join(', ')}`);
  say(`  Logs:            ${cluster.logDir}, ${cluster.temporal.logDir}`);
  for (const line of await devTokenLines(tokens)) say(line);
  say('Press Ctrl-C to stop.');

  stopOnSignals(async (reason) => {
    say(`\n${reason}: stopping...`);
    await cluster.stop();
    say('Stopped.');
    process.exit(0);
  });
}

main().catch((err) => {
  process.stderr.write(`start:cluster failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
