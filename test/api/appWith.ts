import { createApp, type AppDependencies } from '../../src/api/app';
import type { Pool } from '../../src/db/pool';
import type { Queryable, TransactionalDb } from '../../src/eventstore';
import { createLogger } from '../../src/logger';
import { serveChecked, TEST_AUTH_SECRET, testEnv, type TestApi } from '../support/harness';

/** The real app on a real port, with the dependencies a test wants to set itself (the rest as the harness sets them). */
export async function startApiWith(deps: Pick<AppDependencies, 'db' | 'client'> & Partial<AppDependencies>): Promise<TestApi> {
  const app = createApp({
    namespace: 'default',
    actors: { taskQueue: testEnv.taskQueue, cartTtlMs: 30 * 60_000, historyLimit: 2000 },
    logger: createLogger('silent'),
    auth: { secret: TEST_AUTH_SECRET, rateLimit: { perSecond: 100_000, burst: 100_000 } },
    ...deps,
  });
  return serveChecked(app, { cutConnections: true });
}

/** A pool that counts what is asked of it: every query, and every connection checked out. */
export interface CountingDb extends TransactionalDb {
  readonly queries: number;
  /** Runs after each query has its result, before the caller gets it (a test's way in between a read and its use). */
  afterQuery?: (text: string) => Promise<void> | void;
}

export function countingDb(pool: Pool): CountingDb {
  let queries = 0;
  const db: CountingDb = {
    get queries() {
      return queries;
    },
    query: (async (...args: unknown[]) => {
      queries++;
      const result = await (pool.query as (...a: unknown[]) => Promise<unknown>)(...args);
      await db.afterQuery?.(typeof args[0] === 'string' ? args[0] : '');
      return result;
    }) as Queryable['query'],
    connect: () => {
      queries++;
      return pool.connect();
    },
  };
  return db;
}

/** Waits until `condition` holds (checked every 20 ms, for at most `limitMs`), then returns whether it does. */
export async function eventually(condition: () => boolean | Promise<boolean>, limitMs = 15_000): Promise<boolean> {
  const until = Date.now() + limitMs;
  while (!(await condition())) {
    if (Date.now() > until) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}
