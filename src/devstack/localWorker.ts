import type { NativeConnection, Worker, WorkerOptions } from '@temporalio/worker';
import { createPool, type Pool } from '../db/pool';
import { migrate } from '../db/migrate';
import { allProjections, Projector } from '../projections';
import { connectWorker } from '../temporal';
import { createOrderWorker } from '../worker';
import { startDevStack, type DevStack } from './devStack';

export interface LocalWorker {
  stack: DevStack;
  pool: Pool;
  worker: Worker;
  /** The read side's catch-up subscription, running next to the worker. */
  projector: Projector;
  /** Settles when the worker has stopped. */
  running: Promise<void>;
  stop(): Promise<void>;
}

/**
 * The dev stack (what is not configured), a migrated database and a running order worker:
 * what `npm start`, the test run and the history recorder all need.
 */
export async function startLocalWorker(
  options: Parameters<typeof startDevStack>[0] & {
    namespace: string;
    taskQueue: string;
    workflowBundle?: WorkerOptions['workflowBundle'];
  },
): Promise<LocalWorker> {
  const stack = await startDevStack(options);
  let pool: Pool | undefined;
  let connection: NativeConnection | undefined;
  try {
    pool = createPool(stack.databaseUrl);
    await migrate(pool);
    connection = await connectWorker(stack.temporalAddress);
    const worker = await createOrderWorker({
      connection,
      namespace: options.namespace,
      taskQueue: options.taskQueue,
      db: pool,
      workflowBundle: options.workflowBundle,
    });
    const running = worker.run();
    const projector = new Projector(pool, stack.databaseUrl, allProjections).start();
    const [openPool, openConnection] = [pool, connection];
    return {
      stack,
      pool,
      worker,
      projector,
      running,
      async stop() {
        await projector.stop();
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await running.catch(() => undefined);
        await openConnection.close();
        await openPool.end();
        await stack.stop();
      },
    };
  } catch (err) {
    await connection?.close().catch(() => undefined);
    await pool?.end().catch(() => undefined);
    await stack.stop();
    throw err;
  }
}
