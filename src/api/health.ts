import type { Client } from '@temporalio/client';
import { Router } from 'express';
import type { Queryable } from '../eventstore';

/** Liveness (the process answers) and readiness (Postgres, Temporal, and a worker polling our queue). */
export function healthRouter(deps: { db: Queryable; client: Client; taskQueue: string; namespace: string }): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const checks = await Promise.all([
      deps.db.query('SELECT 1').then(
        () => ['postgres', 'ok'] as const,
        () => ['postgres', 'unreachable'] as const,
      ),
      deps.client.workflowService
        .describeTaskQueue({ namespace: deps.namespace, taskQueue: { name: deps.taskQueue }, taskQueueType: 1 })
        .then(
          (r) => ['temporal', (r.pollers?.length ?? 0) > 0 ? 'ok' : 'no worker polling'] as const,
          () => ['temporal', 'unreachable'] as const,
        ),
    ]);
    const ready = checks.every(([, state]) => state === 'ok');
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks: Object.fromEntries(checks) });
  });
  return router;
}
