import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import { signToken, type Principal } from '../src/auth/tokens';
import { createPool, type Pool } from '../src/db/pool';
import { migrate } from '../src/db/migrate';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../src/devstack/embeddedPostgres';
import { freePort } from '../src/devstack/freePort';
import { ensureTemporalCli } from '../src/devstack/temporalCli';
import { throwawayDataDir } from '../src/devstack/throwawayDataDir';
import { writeWorkflowBundle } from '../src/worker';
import { orderSearchAttributes } from '../src/workflows/searchAttributes';
import { SupervisedProcess, type UnexpectedExit } from '../src/devstack/supervisedProcess';

const ROOT = path.resolve(__dirname, '..');
const NAMESPACE = 'default';
const TASK_QUEUE = 'orders-chaos';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it resolves true; throws after `timeoutMs`. */
async function waitUntil(what: string, probe: () => Promise<boolean>, timeoutMs: number, intervalMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs / 1000}s`);
    await sleep(intervalMs);
  }
}

/**
 * The whole service as separate processes on free loopback ports in a throwaway folder, each of
 * which a fault can stop and start again: embedded Postgres (same folder and port), the Temporal
 * dev server (same SQLite file and port), the worker + projector, and the API.
 */
export class ChaosStack {
  private constructor(
    readonly dataDir: string,
    readonly apiUrl: string,
    readonly databaseUrl: string,
    readonly temporalAddress: string,
    private readonly authSecret: string,
    private readonly postgres: EmbeddedDatabase,
    readonly temporal: SupervisedProcess,
    readonly worker: SupervisedProcess,
    readonly api: SupervisedProcess,
    /** The runner's own view: seeding checks, settling, invariants. */
    readonly pool: Pool,
    readonly client: Client,
    private readonly log: (line: string) => void,
  ) {}

  static async start(log: (line: string) => void): Promise<ChaosStack> {
    const dataDir = throwawayDataDir('chaos');
    const cleanups: Array<() => Promise<void> | void> = [() => rmSync(dataDir, { recursive: true, force: true })];
    const cleanUp = async () => {
      for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
    };
    try {
      const postgres = await startEmbeddedPostgres({ dataDir: path.join(dataDir, 'postgres'), persistent: true, log, callerHandlesSignals: true });
      cleanups.push(() => postgres.stop());
      const pool = createPool(postgres.url, 8);
      cleanups.push(() => pool.end());
      await migrate(pool); // once here, so the worker and the API never race for the first migration

      const cli = await ensureTemporalCli({ log, allowDownload: false });
      if (cli.kind !== 'path') throw new Error('The chaos run needs the Temporal CLI binary');
      const [temporalPort, apiPort] = [await freePort(), await freePort()];
      const temporalAddress = `127.0.0.1:${temporalPort}`;
      const searchAttributes = orderSearchAttributes.flatMap((a) => ['--search-attribute', `${a.name}=${TypedSearchAttributes.toMetadataType(a.type)}`]);
      const temporal = new SupervisedProcess('temporal', {
        command: cli.path,
        // One SQLite file across restarts: the server comes back with every workflow it had. WAL
        // with synchronous=normal survives the server process dying (what we inject), not a power
        // cut; SQLite's default fsyncs every commit, which starves 200 concurrent orders on 2 cores.
        args: [
          'server',
          'start-dev',
          '--db-filename',
          path.join(dataDir, 'temporal.sqlite'),
          '--sqlite-pragma',
          'journal_mode=wal',
          '--sqlite-pragma',
          'synchronous=normal',
          '--ip',
          '127.0.0.1',
          '--port',
          String(temporalPort),
          '--headless',
          '--namespace',
          NAMESPACE,
          '--log-level',
          'warn',
          ...searchAttributes,
        ],
        env: process.env,
        cwd: dataDir,
        logFile: path.join(dataDir, 'temporal.log'),
      });
      cleanups.push(() => temporal.stop('SIGTERM'));
      temporal.start();

      const authSecret = randomBytes(48).toString('base64');
      const serviceEnv: NodeJS.ProcessEnv = {
        ...process.env,
        DATABASE_URL: postgres.url,
        TEMPORAL_ADDRESS: temporalAddress,
        TEMPORAL_NAMESPACE: NAMESPACE,
        TASK_QUEUE,
        PORT: String(apiPort),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        AUTH_SECRET: authSecret,
        // Bundled once here: every worker restart after a SIGKILL starts polling without rebundling.
        WORKFLOW_BUNDLE: await writeWorkflowBundle(dataDir),
      };
      const node = (name: string, script: string) =>
        new SupervisedProcess(name, {
          command: process.execPath,
          args: ['--import', 'tsx', script],
          env: serviceEnv,
          cwd: ROOT,
          logFile: path.join(dataDir, `${name}.log`),
        });
      const worker = node('worker', 'src/bin/worker.ts');
      const api = node('api', 'src/bin/api.ts');
      cleanups.push(
        () => worker.stop('SIGTERM'),
        () => api.stop('SIGTERM'),
      );

      await waitUntil('Temporal dev server', () => temporalAnswers(temporalAddress), 60_000);
      const client = new Client({ connection: await Connection.connect({ address: temporalAddress }), namespace: NAMESPACE });
      cleanups.push(() => client.connection.close());

      const stack = new ChaosStack(
        dataDir,
        `http://127.0.0.1:${apiPort}`,
        postgres.url,
        temporalAddress,
        authSecret,
        postgres,
        temporal,
        worker,
        api,
        pool,
        client,
        log,
      );
      worker.start();
      api.start();
      await Promise.all([stack.workerPolling(), stack.apiListening()]);
      return stack;
    } catch (err) {
      await cleanUp();
      throw err;
    }
  }

  token(principal: Principal): Promise<string> {
    return signToken(this.authSecret, principal, 4 * 3600);
  }

  /** Every exit no fault asked for, across the run. */
  unexpectedExits(): UnexpectedExit[] {
    return [this.temporal, this.worker, this.api].flatMap((p) => p.unexpectedExits);
  }

  /** Until the worker process now running polls our task queue (its identity is `pid@host`). */
  async workerPolling(timeoutMs = 120_000): Promise<void> {
    await waitUntil(
      'worker polling',
      async () => {
        const pid = this.worker.pid;
        if (pid === undefined) return false;
        const queue = await this.client.workflowService.describeTaskQueue({ namespace: NAMESPACE, taskQueue: { name: TASK_QUEUE }, taskQueueType: 1 });
        return (queue.pollers ?? []).some((p) => p.identity?.startsWith(`${pid}@`));
      },
      timeoutMs,
      250,
    );
  }

  apiListening(timeoutMs = 60_000): Promise<void> {
    return waitUntil('API listening', async () => (await fetch(`${this.apiUrl}/healthz`)).ok, timeoutMs, 100);
  }

  temporalAnswers(timeoutMs = 60_000): Promise<void> {
    return waitUntil('Temporal dev server', () => temporalAnswers(this.temporalAddress), timeoutMs);
  }

  stopPostgres(): Promise<void> {
    return this.postgres.pause();
  }

  startPostgres(): Promise<void> {
    return this.postgres.resume();
  }

  /** Stops everything, the API first, and deletes the folder (unless CHAOS_KEEP_DATA is set, for post-mortems). */
  async stop(): Promise<void> {
    await this.api.stop('SIGTERM');
    await this.worker.stop('SIGTERM');
    await this.client.connection.close().catch(() => undefined);
    await this.temporal.stop('SIGTERM');
    await this.pool.end().catch(() => undefined);
    await this.postgres.stop();
    if (process.env.CHAOS_KEEP_DATA) this.log(`chaos data kept in ${this.dataDir}`);
    else rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** Synchronous last resort when the runner itself is interrupted. */
  killNow(): void {
    for (const p of [this.api, this.worker, this.temporal]) p.killNow();
  }
}

/** A fresh connection each time: it fails fast while the server is down. */
async function temporalAnswers(address: string): Promise<boolean> {
  const connection = await Connection.connect({ address, connectTimeout: 1000 });
  try {
    await connection.workflowService.describeNamespace({ namespace: NAMESPACE });
    return true;
  } finally {
    await connection.close();
  }
}
