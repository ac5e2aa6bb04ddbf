import { Router } from 'express';
import { z } from 'zod';
import type { TransactionalDb } from '../eventstore';
import { allProjections, listDeadLetters, projectionStatuses, retryDeadLetter, type Projection } from '../projections';
import { adminOnly } from './access';
import { ApiError } from './problem';
import { parseInput } from './validation';

const deadLettersQuery = z
  .object({
    projection: z.string().min(1).max(100).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .strict();
const deadLetterParams = z.object({ id: z.coerce.number().int().min(1).safe() });

/** Operating the read side: projection status, parked events and their retry. */
export function adminRouter(db: TransactionalDb, projections: readonly Projection[] = allProjections): Router {
  const router = Router();
  router.use('/admin', adminOnly);

  router.get('/admin/projections', async (_req, res) => {
    res.json({ projections: await projectionStatuses(db, projections) });
  });

  router.get('/admin/dead-letters', async (req, res) => {
    const query = parseInput(deadLettersQuery, req.query, 'query');
    res.json({ deadLetters: await listDeadLetters(db, query) });
  });

  // Applies the parked event now; on success it is removed, on failure it stays with one more attempt.
  router.post('/admin/dead-letters/:id/retry', async (req, res) => {
    const { id } = parseInput(deadLetterParams, req.params, 'path');
    const result = await retryDeadLetter(db, id, projections);
    if (result.outcome === 'not_found') throw new ApiError(404, 'DEAD_LETTER_NOT_FOUND', 'There is no such dead letter.');
    if (result.outcome === 'failed') {
      throw new ApiError(409, 'DEAD_LETTER_RETRY_FAILED', `The handler failed again: ${result.deadLetter.error}`, { deadLetter: result.deadLetter });
    }
    res.json({ status: 'applied', deadLetter: result.deadLetter });
  });

  return router;
}
