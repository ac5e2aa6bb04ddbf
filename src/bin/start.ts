/**
 * `npm start`: the whole service on one machine. Starts embedded Postgres and the Temporal dev
 * server (with its Web UI) unless DATABASE_URL / TEMPORAL_ADDRESS point elsewhere, then the
 * worker and the API. Ctrl-C stops everything it started.
 */
// First: tracing must be registered before http, express and pg load.
import '../telemetry/register';
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { Runtime } from '@temporalio/worker';
import { createApp } from '../api/app';
import { apiSettings, loadConfig, temporalTelemetry, tokenSettings } from '../config';
import { devAuthSecret, devTokenLines } from '../devstack/devAuth';
import { demoOrder } from '../devstack/demoOrder';
import { stopOnSignals } from '../devstack/stopOnSignals';
import { startLocalWorker } from '../devstack/localWorker';
import { createLogger } from '../logger';
import { activeTracing } from '../telemetry';
import { connectClient } from '../temporal';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL, 'start');
  const say = (line: string) => process.stdout.write(`${line}\n`);
  // We stop the worker ourselves, in order, after the API has stopped taking requests.
  Runtime.install({ shutdownSignals: [], telemetryOptions: temporalTelemetry(config) });
  mkdirSync(config.DATA_DIR, { recursive: true });
  const tokens = tokenSettings(config, () => devAuthSecret(config.DATA_DIR, undefined));

  const startedAt = Date.now();
  const local = await startLocalWorker({
    dataDir: config.DATA_DIR,
    persistent: true,
    databaseUrl: config.DATABASE_URL,
    postgresPort: config.EMBEDDED_PG_PORT,
    temporalAddress: config.TEMPORAL_ADDRESS,
    temporalPort: config.TEMPORAL_PORT,
    temporalUiPort: config.TEMPORAL_UI_PORT,
    log: say,
    callerHandlesSignals: true,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TASK_QUEUE,
  });
  const { stack, pool } = local;
  const client = await connectClient(stack.temporalAddress, config.TEMPORAL_NAMESPACE);
  const app = createApp({ db: pool, client, logger, ...apiSettings(config, tokens) });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(config.PORT, config.HOST, () => resolve(s));
  });

  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;
  say('');
  say(`Order service ready in ${((Date.now() - startedAt) / 1000).toFixed(1)}s`);
  say(`  API:             http://${config.HOST}:${port}`);
  say(`  Console:         http://${config.HOST}:${port}/console (log in with ADMIN_TOKEN below)`);
  // A demo order for the console's first visit, on the embedded Postgres only (never a configured database).
  if (!config.DATABASE_URL && 'secret' in tokens) {
    const orderId = await demoOrder({ apiUrl: `http://${config.HOST}:${port}`, dataDir: config.DATA_DIR, secret: tokens.secret }).catch((err: Error) => {
      say(`  Demo order:      not placed (${err.message})`);
      return undefined;
    });
    if (orderId) say(`  Demo order:      http://${config.HOST}:${port}/console#/order/${orderId} (alice's, checked out)`);
  }
  if (stack.temporalUiUrl) say(`  Temporal Web UI: ${stack.temporalUiUrl}`);
  say(`  Temporal:        ${stack.temporalAddress} (namespace ${config.TEMPORAL_NAMESPACE}, task queue ${config.TASK_QUEUE})`);
  // Only the embedded server's URL: a configured DATABASE_URL may carry real credentials.
  if (!config.DATABASE_URL) say(`  Postgres:        ${stack.databaseUrl} (embedded)`);
  say(`  Started here:    ${stack.started.join(', ') || 'nothing (using DATABASE_URL and TEMPORAL_ADDRESS)'}`);
  for (const line of await devTokenLines(tokens)) say(line);
  say('Press Ctrl-C to stop.');

  const stop = stopOnSignals(async (reason) => {
    say(`\n${reason}: stopping...`);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await client.connection.close();
    await local.stop();
    await activeTracing()?.shutdown();
    say('Stopped.');
    process.exit(0);
  });
  local.running.catch((err: unknown) => {
    logger.error({ err }, 'worker stopped unexpectedly');
    stop('worker failure');
  });
}

main().catch((err) => {
  process.stderr.write(`start failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
