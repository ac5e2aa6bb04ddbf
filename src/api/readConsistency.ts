import { z } from 'zod';
import { ApiError } from './problem';

/** How long `?minVersion=N` waits for the read model before answering 504 READ_MODEL_BEHIND. */
export const DEFAULT_READ_WAIT_MS = 5000;
const POLL_MS = 10;

export const consistencyQuery = z
  .object({
    /** Wait until the model has folded at least this version (read-your-writes). */
    minVersion: z.coerce.number().int().min(1).safe().optional(),
    /** `strong`: ask the write side (the actor, the stream) instead of the read model. */
    consistency: z.enum(['eventual', 'strong']).optional(),
  })
  .strict();

/**
 * Reads a model row until `reached` holds, polling, for at most `waitMs`. Without a requirement
 * it is one read. A model that stays behind is a 504 READ_MODEL_BEHIND with Retry-After, never a
 * stale answer passed off as the requested version.
 */
export async function readAtLeast<T>(
  read: () => Promise<T | undefined>,
  reached: ((row: T | undefined) => boolean) | undefined,
  waitMs: number,
  describe: (row: T | undefined) => Record<string, unknown>,
): Promise<T | undefined> {
  let row = await read();
  if (!reached) return row;
  const deadline = Date.now() + waitMs;
  while (!reached(row)) {
    if (Date.now() >= deadline) {
      throw new ApiError(
        504,
        'READ_MODEL_BEHIND',
        `The read model has not caught up within ${waitMs} ms. Retry, or ask with ?consistency=strong.`,
        describe(row),
        { 'Retry-After': '1' },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    row = await read();
  }
  return row;
}
