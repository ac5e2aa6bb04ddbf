import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { orderSearchAttributes } from '../workflows/searchAttributes';
import { ensureTemporalCli } from './temporalCli';
import { freePort } from './freePort';

export interface DevTemporal {
  address: string;
  uiUrl?: string;
  stop(): Promise<void>;
}

/**
 * Starts `temporal server start-dev` on loopback with our search attributes registered.
 * With `dbFile` the server keeps its state in that SQLite file across restarts; without, in memory.
 */
export async function startDevTemporal(options: {
  dbFile?: string;
  /** A free port when not given. */
  port?: number;
  uiPort?: number;
  ip?: string;
  namespace?: string;
  log?: (line: string) => void;
  extraArgs?: string[];
  /** The server's own log level; tests keep it quiet. */
  logLevel?: 'debug' | 'info' | 'warn' | 'error' | 'never';
}): Promise<DevTemporal> {
  const cli = await ensureTemporalCli({ log: options.log });
  const ip = options.ip ?? '127.0.0.1';
  const start = (port: number) =>
    TestWorkflowEnvironment.createLocal({
      server: {
        executable: cli.kind === 'path' ? { type: 'existing-path', path: cli.path } : { type: 'cached-download' },
        ip,
        port,
        namespace: options.namespace ?? 'default',
        dbFilename: options.dbFile ? path.resolve(options.dbFile) : undefined,
        ui: options.uiPort !== undefined,
        uiPort: options.uiPort,
        searchAttributes: orderSearchAttributes,
        log: { format: 'pretty', level: options.logLevel ?? 'warn' },
        extraArgs: options.extraArgs,
      },
    });
  let port = options.port ?? (await freePort());
  let env: TestWorkflowEnvironment;
  try {
    env = await start(port);
  } catch (err) {
    // The SDK gives the server 5 s to answer; a loaded 2-core machine can miss that once.
    options.log?.(`The Temporal dev server did not start in time (${(err as Error).message.split('\n')[0]}); trying once more`);
    port = options.port ?? (await freePort());
    env = await start(port);
  }
  return {
    address: `${ip}:${port}`,
    uiUrl: options.uiPort !== undefined ? `http://${ip}:${options.uiPort}` : undefined,
    stop: () => env.teardown(),
  };
}
