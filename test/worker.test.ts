import type { NativeConnection } from '@temporalio/worker';
import type { Pool } from '../src/db/pool';
import { createTestWorker, uniqueId, useWorkerConnections } from './support/harness';

/*
 * sdk-core makes room in a full workflow cache by evicting the least recently used run, even one in
 * the middle of a workflow task (awaiting its local activity), and that task is lost until the
 * server times it out (10 s). The SDK's default of 40 tasks at once let most of a cache of 50 be
 * such runs: in the memory bench ~0.9 % of 10 000 creates took a lost task (10-12 s) and 3 ran out
 * the API's 20 s deadline; with a fifth of the cache in flight, none (docs/performance.md, memory).
 */

let pool: Pool;
let connection: NativeConnection;
useWorkerConnections((opened) => ({ pool, connection } = opened));

test.each([5, 12, 50, 100])('a worker caching %i workflows runs at most a fifth of them as workflow tasks at once (at least 2)', async (cache) => {
  const worker = await createTestWorker({ connection, pool }, { taskQueue: uniqueId('slots'), maxCachedWorkflows: cache });
  await worker.runUntil(Promise.resolve());
  const supplier = worker.options.tuner.workflowTaskSlotSupplier;
  expect(supplier).toEqual({ type: 'fixed-size', numSlots: Math.max(2, Math.floor(cache / 5)) });
});
