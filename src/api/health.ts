import type { Client } from '@temporalio/client';
import { z } from 'zod';
import type { Queryable } from '../eventstore';
import type { Handler, RouteTable } from './routes';

export interface HealthRouteDeps {
  db: Queryable;
  client: Client;
  taskQueue: string;
  namespace: string;
}

const checkState = z.string().describe('`ok`, or what is wrong: `unreachable`, `no worker polling`.');
const readinessAnswer = z.object({ status: z.enum(['ready', 'not ready']), checks: z.object({ postgres: checkState, temporal: checkState }) });

const ready: Handler<HealthRouteDeps> = async (_req, res, deps) => {
  const checks = await Promise.all([
    deps.db.query('SELECT 1').then(
      () => ['postgres', 'ok'] as const,
      () => ['postgres', 'unreachable'] as const,
    ),
    deps.client.workflowService.describeTaskQueue({ namespace: deps.namespace, taskQueue: { name: deps.taskQueue }, taskQueueType: 1 }).then(
      (r) => ['temporal', (r.pollers?.length ?? 0) > 0 ? 'ok' : 'no worker polling'] as const,
      () => ['temporal', 'unreachable'] as const,
    ),
  ]);
  const isReady = checks.every(([, state]) => state === 'ok');
  res.status(isReady ? 200 : 503).json({ status: isReady ? 'ready' : 'not ready', checks: Object.fromEntries(checks) });
};

/** Liveness (the process answers) and readiness (Postgres, Temporal, and a worker polling our queue). */
export const healthRoutes: RouteTable<HealthRouteDeps> = {
  routes: [
    {
      method: 'get',
      path: '/healthz',
      handle: (_req, res) => res.json({ status: 'ok' }),
      contract: {
        summary: 'Liveness: the process answers.',
        answers: { 200: { description: 'Alive.', body: z.object({ status: z.literal('ok') }) } },
        problems: {},
      },
    },
    {
      method: 'get',
      path: '/readyz',
      handle: ready,
      contract: {
        summary: 'Readiness: Postgres and Temporal answer, and a worker polls the task queue.',
        answers: {
          200: { description: 'Ready.', body: readinessAnswer },
          503: { description: 'Not ready; checks says what is missing.', body: readinessAnswer },
        },
        problems: {},
      },
    },
  ],
};
