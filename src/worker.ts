import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger, Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import type { TransactionalDb } from './eventstore';
import { createActivities } from './activities';
import { temporalWorkerInterceptors, workflowInterceptorModules, workflowSpanSink } from './telemetry';

export const workflowsPath = path.join(__dirname, 'workflows', 'index');

/**
 * Bundles the workflows once into `dir/workflow-bundle.js` and returns its path: workers started
 * with it (`workflowBundle: { codePath }`, or WORKFLOW_BUNDLE) skip the seconds of bundling.
 */
export async function writeWorkflowBundle(dir: string): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve(workflowsPath),
    workflowInterceptorModules,
    logger: new DefaultLogger('WARN'),
  });
  const bundlePath = path.join(dir, 'workflow-bundle.js');
  writeFileSync(bundlePath, code);
  return bundlePath;
}

/** The worker that hosts order actors and their activities on one task queue. */
export function createOrderWorker(options: {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  db: TransactionalDb;
  /** A prebuilt bundle (tests share one); otherwise the worker bundles `src/workflows` itself. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  activities?: object;
  /** The SDK's default (sized from the heap limit) when absent. */
  maxCachedWorkflows?: number;
}): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    activities: options.activities ?? createActivities(options.db),
    maxCachedWorkflows: options.maxCachedWorkflows,
    sinks: workflowSpanSink(),
    // A prebuilt bundle has the workflow interceptors in it already (writeWorkflowBundle).
    ...(options.workflowBundle
      ? { workflowBundle: options.workflowBundle, interceptors: temporalWorkerInterceptors() }
      : { workflowsPath: require.resolve(workflowsPath), interceptors: { ...temporalWorkerInterceptors(), workflowModules: workflowInterceptorModules } }),
  });
}
