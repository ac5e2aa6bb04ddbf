import { z } from 'zod';
import type { TransactionalDb } from '../eventstore';
import { listDeadLetters, projectionStatuses, retryDeadLetter, type Projection } from '../projections';
import { adminOnly } from './access';
import { deadLetterAnswer, projectionStatusAnswer } from './answers';
import { ApiError } from './problem';
import type { Handler, RouteTable } from './routes';
import { parseInput } from './validation';

const deadLettersQuery = z
  .object({
    projection: z.string().min(1).max(100).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .strict();
const deadLetterParams = z.object({ id: z.coerce.number().int().min(1).safe() });

export interface AdminRouteDeps {
  db: TransactionalDb;
  /** The projections /admin reports on and retries dead letters with. */
  projections: readonly Projection[];
}

const statuses: Handler<AdminRouteDeps> = async (_req, res, { db, projections }) => {
  res.json({ projections: await projectionStatuses(db, projections) });
};

const deadLetters: Handler<AdminRouteDeps> = async (req, res, { db }) => {
  const query = parseInput(deadLettersQuery, req.query, 'query');
  res.json({ deadLetters: await listDeadLetters(db, query) });
};

// Applies the parked event now; on success it is removed, on failure it stays with one more attempt.
const retry: Handler<AdminRouteDeps> = async (req, res, { db, projections }) => {
  const { id } = parseInput(deadLetterParams, req.params, 'path');
  const result = await retryDeadLetter(db, id, projections);
  if (result.outcome === 'not_found') throw new ApiError(404, 'DEAD_LETTER_NOT_FOUND', 'There is no such dead letter.');
  if (result.outcome === 'failed') {
    throw new ApiError(409, 'DEAD_LETTER_RETRY_FAILED', `The handler failed again: ${result.deadLetter.error}`, { deadLetter: result.deadLetter });
  }
  res.json({ status: 'applied', deadLetter: result.deadLetter });
};

/** Operating the read side: projection status, parked events and their retry. */
export const adminRoutes: RouteTable<AdminRouteDeps> = {
  guard: { paths: ['/admin'], by: adminOnly },
  routes: [
    {
      method: 'get',
      path: '/admin/projections',
      handle: statuses,
      contract: {
        summary: "Each projection's position and lag.",
        answers: { 200: { description: 'Every projection.', body: z.object({ projections: z.array(projectionStatusAnswer) }) } },
        problems: {},
      },
    },
    {
      method: 'get',
      path: '/admin/dead-letters',
      handle: deadLetters,
      contract: {
        summary: 'Events a projection parked.',
        query: deadLettersQuery,
        answers: { 200: { description: 'The parked events.', body: z.object({ deadLetters: z.array(deadLetterAnswer) }) } },
        problems: {},
      },
    },
    {
      method: 'post',
      path: '/admin/dead-letters/:id/retry',
      handle: retry,
      contract: {
        summary: 'Apply a parked event again.',
        params: deadLetterParams,
        answers: {
          200: { description: 'It applied and is no longer parked.', body: z.object({ status: z.literal('applied'), deadLetter: deadLetterAnswer }) },
        },
        problems: { 404: ['DEAD_LETTER_NOT_FOUND'], 409: ['DEAD_LETTER_RETRY_FAILED'] },
      },
    },
  ],
};
