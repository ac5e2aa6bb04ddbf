import { spawn } from 'node:child_process';
import path from 'node:path';
import { getOrderQuery } from '../../src/workflows/orderContract';
import { testClient, testEnv, uniqueId } from '../support/harness';
import { startOrderActor } from '../support/orders';

const ROOT = path.join(__dirname, '..', '..');

/*
 * The production worker with its default settings, as deployed: no prebuilt bundle, so it bundles
 * its workflows in a child process and hands the code to the SDK, and sets the workflow thread's
 * heap limit. An order on its own task queue must run on it.
 */
test('the worker process bundles in a child, polls, runs an order, and drains on SIGTERM', async () => {
  const taskQueue = uniqueId('worker-bin');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: testEnv.databaseUrl,
    TEMPORAL_ADDRESS: testEnv.temporalAddress,
    TASK_QUEUE: taskQueue,
    LOG_LEVEL: 'info',
  };
  for (const name of ['WORKFLOW_BUNDLE', 'WORKER_MAX_CACHED_WORKFLOWS', 'WORKER_WORKFLOW_HEAP_MB', 'NODE_OPTIONS']) delete env[name];
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/bin/worker.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const polling = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not polling in 120 s:\n${output}`)), 120_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('"worker polling"')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => reject(new Error(`worker exited with ${code}:\n${output}`)));
  });
  const client = await testClient();
  try {
    await polling;
    const orderId = uniqueId('worker-bin-order');
    const handle = await startOrderActor(client, orderId, {}, taskQueue);
    // The query runs the order's first workflow task on that worker: the bundle it was handed works.
    await expect(handle.query(getOrderQuery)).resolves.toMatchObject({ state: { status: 'NONE' } });
    await handle.terminate('test done');
  } finally {
    child.kill('SIGTERM');
    await client.connection.close();
  }
  expect(await exited).toBe(0);
}, 180_000);
