import path from 'node:path';
import { startDevTemporal } from './devTemporal';
import { startEmbeddedPostgres } from './embeddedPostgres';
import { stopList } from './stopList';

export interface DevStack {
  databaseUrl: string;
  temporalAddress: string;
  temporalUiUrl?: string;
  /** What the stack started itself (and will stop), for the log. */
  started: string[];
  stop(): Promise<void>;
}

/**
 * Starts whatever is not configured: embedded Postgres unless `databaseUrl` is given, the Temporal
 * dev server unless `temporalAddress` is given. Persistent keeps both under `dataDir`.
 */
export async function startDevStack(options: {
  dataDir: string;
  persistent: boolean;
  databaseUrl?: string;
  /** Embedded Postgres' port; free when not given. */
  postgresPort?: number;
  temporalAddress?: string;
  temporalPort?: number;
  temporalUiPort?: number;
  temporalLogLevel?: 'debug' | 'info' | 'warn' | 'error' | 'never';
  /** The caller stops the stack on SIGINT/SIGTERM itself (see startEmbeddedPostgres). */
  callerHandlesSignals?: boolean;
  log: (line: string) => void;
}): Promise<DevStack> {
  const stops = stopList();
  const started: string[] = [];
  const stop = stops.stopAll;
  try {
    let databaseUrl = options.databaseUrl;
    if (!databaseUrl) {
      const db = await startEmbeddedPostgres({
        dataDir: path.join(options.dataDir, 'postgres'),
        persistent: options.persistent,
        port: options.postgresPort,
        log: options.log,
        callerHandlesSignals: options.callerHandlesSignals,
      });
      stops.push(db.stop);
      // Root's stand-in data folder is not where DATA_DIR says: name it where the log shows what started.
      started.push(options.persistent ? `embedded Postgres (data in ${db.dataDir})` : 'embedded Postgres');
      databaseUrl = db.url;
    }
    let temporalAddress = options.temporalAddress;
    let temporalUiUrl: string | undefined;
    if (!temporalAddress) {
      const temporal = await startDevTemporal({
        dbFile: options.persistent ? path.join(options.dataDir, 'temporal.sqlite') : undefined,
        port: options.temporalPort,
        uiPort: options.temporalUiPort,
        logLevel: options.temporalLogLevel,
        log: options.log,
      });
      stops.push(temporal.stop);
      started.push('Temporal dev server');
      temporalAddress = temporal.address;
      temporalUiUrl = temporal.uiUrl;
    }
    return { databaseUrl, temporalAddress, temporalUiUrl, started, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
