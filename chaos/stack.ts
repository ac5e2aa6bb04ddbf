import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection, isGrpcServiceError } from '@temporalio/client';
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
export const CHAOS_NAMESPACE = 'default';
export const CHAOS_TASK_QUEUE = 'orders-chaos';
/** gRPC status NOT_FOUND; @grpc/grpc-js, which names it, is not a dependency of ours. */
const GRPC_NOT_FOUND = 5;
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

/** What a shape of the service hands the chaos stack: its processes, and how to stop them all. */
export interface StackParts {
  /** For the banner and the report: `dev server, 1 worker, 1 API`. */
  shape: string;
  dataDir: string;
  databaseUrl: string;
  temporalAddress: string;
  /** One URL per API process, in the order of `apis`. */
  apiUrls: string[];
  apis: SupervisedProcess[];
  workers: SupervisedProcess[];
  /** The Temporal server's processes a fault may hit, by role: the dev server alone, or the cluster's services. */
  temporal: Record<string, SupervisedProcess>;
  /** Every supervised process (the above and any other, like the Web UI): exits are findings. */
  processes: SupervisedProcess[];
  postgres: EmbeddedDatabase;
  authSecret: string;
  /** Stops every process of the shape and Postgres, gracefully, the API first. */
  stopServices(): Promise<void>;
}

/**
 * The whole service as separate processes on free loopback ports in a throwaway folder, each of
 * which a fault can stop and start again, in one of two shapes: `startDevChaosStack` (the Temporal
 * dev server, one worker, one API) or `startClusterChaosStack` (chaos/clusterStack.ts: a Temporal
 * cluster on Postgres, two workers, two APIs). Scenarios and faults see only this.
 */
export class ChaosStack {
  readonly shape: string;
  readonly dataDir: string;
  readonly temporalAddress: string;
  readonly apiUrls: readonly string[];
  readonly apis: readonly SupervisedProcess[];
  readonly workers: readonly SupervisedProcess[];
  readonly temporal: Readonly<Record<string, SupervisedProcess>>;

  constructor(
    private readonly parts: StackParts,
    /** The runner's own view: seeding checks, settling, invariants. */
    readonly pool: Pool,
    readonly client: Client,
    private readonly log: (line: string) => void,
  ) {
    ({ shape: this.shape, dataDir: this.dataDir, temporalAddress: this.temporalAddress, apiUrls: this.apiUrls, apis: this.apis } = parts);
    ({ workers: this.workers, temporal: this.temporal } = parts);
  }

  /** Connects the runner to a shape that is up, and waits until every worker polls and every API listens. */
  static async connect(parts: StackParts, log: (line: string) => void): Promise<ChaosStack> {
    const pool = createPool(parts.databaseUrl, 8);
    try {
      await waitUntil('Temporal', () => temporalAnswers(parts.temporalAddress), 120_000);
      const client = new Client({ connection: await Connection.connect({ address: parts.temporalAddress }), namespace: CHAOS_NAMESPACE });
      const stack = new ChaosStack(parts, pool, client, log);
      await Promise.all([...stack.workers.map((w) => stack.workerPolling(w)), ...stack.apis.map((_, i) => stack.apiListening(i))]);
      return stack;
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw err;
    }
  }

  token(principal: Principal): Promise<string> {
    return signToken(this.parts.authSecret, principal, 4 * 3600);
  }

  /** Every exit no fault asked for, across the run. */
  unexpectedExits(): UnexpectedExit[] {
    return this.parts.processes.flatMap((p) => p.unexpectedExits);
  }

  /** Until `worker`, as now running, polls our task queue (its identity is `pid@host`). */
  async workerPolling(worker: SupervisedProcess, timeoutMs = 120_000): Promise<void> {
    await waitUntil(
      `${worker.name} polling`,
      async () => {
        const pid = worker.pid;
        if (pid === undefined) return false;
        const queue = await this.client.workflowService.describeTaskQueue({
          namespace: CHAOS_NAMESPACE,
          taskQueue: { name: CHAOS_TASK_QUEUE },
          taskQueueType: 1,
        });
        return (queue.pollers ?? []).some((p) => p.identity?.startsWith(`${pid}@`));
      },
      timeoutMs,
      250,
    );
  }

  apiListening(index: number, timeoutMs = 60_000): Promise<void> {
    return waitUntil(`API ${index + 1} listening`, async () => (await fetch(`${this.apiUrls[index]}/healthz`)).ok, timeoutMs, 100);
  }

  temporalAnswers(timeoutMs = 120_000): Promise<void> {
    return waitUntil('Temporal', () => temporalAnswers(this.temporalAddress), timeoutMs);
  }

  stopPostgres(): Promise<void> {
    return this.parts.postgres.pause();
  }

  startPostgres(): Promise<void> {
    return this.parts.postgres.resume();
  }

  /** Stops everything, the API first, and deletes the folder (unless CHAOS_KEEP_DATA is set, for post-mortems). */
  async stop(): Promise<void> {
    await this.client.connection.close().catch(() => undefined);
    await this.pool.end().catch(() => undefined);
    await this.parts.stopServices();
    if (process.env.CHAOS_KEEP_DATA) this.log(`chaos data kept in ${this.dataDir}`);
    else rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** Synchronous last resort when the runner itself is interrupted. */
  killNow(): void {
    for (const p of this.parts.processes) p.killNow();
  }
}

/**
 * A fresh connection each time (it fails fast while the server is down), asking for a workflow
 * that does not exist: only the history service answers that (NOT_FOUND), so a cluster whose
 * frontend is up but whose history is not does not count as answering.
 */
async function temporalAnswers(address: string): Promise<boolean> {
  const connection = await Connection.connect({ address, connectTimeout: 1000 });
  try {
    // First, so the NOT_FOUND below cannot be the namespace's.
    await connection.workflowService.describeNamespace({ namespace: CHAOS_NAMESPACE });
    await connection.workflowService.describeWorkflowExecution({ namespace: CHAOS_NAMESPACE, execution: { workflowId: 'chaos-readiness-probe' } });
    return true;
  } catch (err) {
    if (isGrpcServiceError(err) && Number(err.code) === GRPC_NOT_FOUND) return true;
    throw err;
  } finally {
    await connection.close();
  }
}

/**
 * The dev shape: embedded Postgres (same folder and port across a stop), the Temporal dev server
 * (same SQLite file and port across a restart), one worker + projector, one API.
 */
export async function startDevChaosStack(log: (line: string) => void): Promise<ChaosStack> {
  const dataDir = throwawayDataDir('chaos');
  const cleanups: Array<() => Promise<void> | void> = [() => rmSync(dataDir, { recursive: true, force: true })];
  const cleanUp = async () => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
  };
  try {
    const postgres = await startEmbeddedPostgres({ dataDir: path.join(dataDir, 'postgres'), persistent: true, log, callerHandlesSignals: true });
    cleanups.push(() => postgres.stop());
    const pool = createPool(postgres.url, 2);
    try {
      await migrate(pool); // once here, so the worker and the API never race for the first migration
    } finally {
      await pool.end();
    }

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
        CHAOS_NAMESPACE,
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
      TEMPORAL_NAMESPACE: CHAOS_NAMESPACE,
      TASK_QUEUE: CHAOS_TASK_QUEUE,
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
    const stopApp = async () => {
      await api.stop('SIGTERM');
      await worker.stop('SIGTERM');
    };
    cleanups.push(stopApp);
    worker.start();
    api.start();
    return await ChaosStack.connect(
      {
        shape: 'Temporal dev server, 1 worker, 1 API',
        dataDir,
        databaseUrl: postgres.url,
        temporalAddress,
        apiUrls: [`http://127.0.0.1:${apiPort}`],
        apis: [api],
        workers: [worker],
        temporal: { 'dev server': temporal },
        processes: [temporal, worker, api],
        postgres,
        authSecret,
        async stopServices() {
          await stopApp();
          await temporal.stop('SIGTERM');
          await postgres.stop();
        },
      },
      log,
    );
  } catch (err) {
    await cleanUp();
    throw err;
  }
}
