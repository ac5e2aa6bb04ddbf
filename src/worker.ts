import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import { bundleWorkflowCode, DefaultLogger, Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import type { TransactionalDb } from './eventstore';
import { createActivities } from './activities';
import { temporalWorkerInterceptors, workflowInterceptorModules, workflowSpanSink } from './telemetry';

export const workflowsPath = path.join(__dirname, 'workflows', 'index');

/** The workflows bundled for the workflow sandbox (webpack and swc: seconds, and ~150 MB of the process's memory for good). */
export async function bundleWorkflows(): Promise<string> {
  // The interceptors go in the bundle: a worker given a prebuilt bundle cannot add them (createOrderWorker).
  return (await bundleWorkflowCode({ workflowsPath: require.resolve(workflowsPath), workflowInterceptorModules, logger: new DefaultLogger('WARN') })).code;
}

/**
 * Bundles the workflows once into `dir/workflow-bundle.js` and returns its path: workers started
 * with it (`workflowBundle: { codePath }`, or WORKFLOW_BUNDLE) skip the seconds of bundling.
 */
export async function writeWorkflowBundle(dir: string): Promise<string> {
  const bundlePath = path.join(dir, 'workflow-bundle.js');
  writeFileSync(bundlePath, await bundleWorkflows());
  return bundlePath;
}

/**
 * The workflows bundled in a child process (`bin/bundleWorkflows`), which hands the code back
 * and exits: the bundler's memory goes with it. Bundled in the worker itself, the worker's RSS
 * stays ~150 MB higher for its whole life (docs/performance.md, memory).
 */
export function bundleWorkflowsInChild(): Promise<string> {
  return new Promise((resolve, reject) => {
    // fork runs it with this process's Node flags: under tsx the .ts source, built the .js.
    const child = fork(require.resolve('./bin/bundleWorkflows'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let code: string | undefined;
    child.once('message', (message: string) => (code = message));
    child.once('error', reject);
    child.once('exit', (exitCode) => (code !== undefined ? resolve(code) : reject(new Error(`bundling the workflows failed (exit code ${exitCode})`))));
  });
}

/**
 * Workflow tasks run at once for a cache of `cachedWorkflows`: a fifth of it (at least 2, the
 * SDK's least). To take a task for an order not in a full cache, sdk-core evicts the least
 * recently used run even when that run is in the middle of a task (awaiting a local activity),
 * and that task is lost until the server times it out (10 s; docs/performance.md, memory). A task
 * touches its run when it starts, so as soon as the runs in flight outnumber the idle ones, the
 * least recently used run is one in flight: the SDK's default (40, clamped to the cache only when
 * set) let 40 of a cache of 50 be. With a fifth in flight, the run evicted is one of the idle four fifths.
 */
export const workflowTaskSlots = (cachedWorkflows: number) => Math.max(2, Math.floor(cachedWorkflows / 5));

/** The worker that hosts order actors and their activities on one task queue. */
export function createOrderWorker(options: {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  db: TransactionalDb;
  /** A prebuilt bundle (tests share one); otherwise the worker bundles `src/workflows` itself. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  activities?: object;
  /** The SDK's default (sized from the heap limit) when absent, and then the SDK's task slots too. */
  maxCachedWorkflows?: number;
  /**
   * The workflow thread's old-space limit in MB; V8's default (from the machine's memory) when
   * absent. A V8 flag, so it holds for every isolate the process starts afterwards: only the
   * worker process sets it, not tests or tools that host a worker beside other work.
   */
  workflowHeapMb?: number;
}): Promise<Worker> {
  // The SDK starts its workflow thread in Worker.create: the flag must be set before.
  if (options.workflowHeapMb !== undefined) v8.setFlagsFromString(`--max-old-space-size=${options.workflowHeapMb}`);
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    activities: options.activities ?? createActivities(options.db),
    maxCachedWorkflows: options.maxCachedWorkflows,
    ...(options.maxCachedWorkflows ? { maxConcurrentWorkflowTaskExecutions: workflowTaskSlots(options.maxCachedWorkflows) } : {}),
    sinks: workflowSpanSink(),
    // A prebuilt bundle has the workflow interceptors in it already (writeWorkflowBundle).
    ...(options.workflowBundle
      ? { workflowBundle: options.workflowBundle, interceptors: temporalWorkerInterceptors() }
      : { workflowsPath: require.resolve(workflowsPath), interceptors: { ...temporalWorkerInterceptors(), workflowModules: workflowInterceptorModules } }),
  });
}
