/** Production API: stateless, scale out freely. Configured only by the environment. */
// First: tracing must be registered before http, express and pg load.
import '../telemetry/register';
import { createApp } from '../api/app';
import { apiSettings, loadConfig, required, tokenSettings } from '../config';
import { createPool } from '../db/pool';
import { migrate } from '../db/migrate';
import { ReadModelChanges } from '../db/readModelChanges';
import { createLogger } from '../logger';
import { activeTracing } from '../telemetry';
import { connectClient } from '../temporal';

async function main(): Promise<void> {
  const config = loadConfig();
  const tokens = tokenSettings(config);
  const logger = createLogger(config.LOG_LEVEL, 'api');
  const pool = createPool(required(config, 'DATABASE_URL'), undefined, config.DATABASE_POOL_TIMEOUT_MS);
  await migrate(pool);
  // One LISTEN connection for every read that waits for the projector (?minVersion).
  const readModelChanges = ReadModelChanges.forPool(pool, { logger });
  const client = await connectClient(required(config, 'TEMPORAL_ADDRESS'), config.TEMPORAL_NAMESPACE);
  const app = createApp({ db: pool, client, logger, readModelChanges, ...apiSettings(config, tokens) });
  const server = app.listen(config.PORT, config.HOST, () => logger.info(`API listening on http://${config.HOST}:${config.PORT}`));
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await client.connection.close();
    await readModelChanges.close();
    await pool.end();
    await activeTracing()?.shutdown();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((err) => {
  process.stderr.write(`api failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
