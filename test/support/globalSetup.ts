import { Runtime, DefaultLogger } from '@temporalio/worker';
import { startLocalWorker, type LocalWorker } from '../../src/devstack/localWorker';
import { writeWorkflowBundle } from '../../src/worker';
import { throwawayDataDir } from '../../src/devstack/throwawayDataDir';
import { DevStackUnavailable } from '../../src/devstack/devStackUnavailable';
import { ensureTemporalServerBinaries } from '../../src/devstack/temporalServerBinaries';

export const SHARED_TASK_QUEUE = 'orders-test';

/**
 * Starts what the environment does not provide (embedded Postgres, the Temporal dev server),
 * migrates, bundles the workflows once and runs one worker with the real activities. Test files
 * find all of it through the environment variables set here.
 */
export default async function globalSetup(): Promise<void> {
  const log = (line: string) => process.stderr.write(`[test setup] ${line}\n`);
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  const dataDir = throwawayDataDir('test');

  const bundlePath = await writeWorkflowBundle(dataDir);
  // The cluster test's Temporal server, built once per machine like the CLI (minutes the first time).
  await ensureTemporalServerBinaries({ log });

  const local = await startLocalWorker({
    dataDir,
    persistent: false,
    databaseUrl: process.env.DATABASE_URL,
    temporalAddress: process.env.TEMPORAL_ADDRESS,
    temporalLogLevel: 'never', // the server logs retried update aborts as errors; they are not failures
    log,
    namespace: 'default',
    taskQueue: SHARED_TASK_QUEUE,
    workflowBundle: { codePath: bundlePath },
  }).catch((err: unknown) => {
    if (!(err instanceof DevStackUnavailable)) throw err;
    // Jest would print the set-up's stack trace; the sentence says all there is to do.
    log(err.message);
    process.exit(1);
  });

  process.env.DATABASE_URL = local.stack.databaseUrl;
  process.env.TEMPORAL_ADDRESS = local.stack.temporalAddress;
  process.env.TEST_TASK_QUEUE = SHARED_TASK_QUEUE;
  process.env.TEST_WORKFLOW_BUNDLE = bundlePath;
  (globalThis as { __testRun?: LocalWorker }).__testRun = local;
}
