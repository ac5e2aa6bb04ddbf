import type { z } from 'zod';
import { ApiError } from './problem';

/** Turns unknown input into a typed value once, at the edge, or a 400 that says what is wrong. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, what = 'request body'): z.infer<S> {
  const parsed = schema.safeParse(input ?? {});
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
  const summary = problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join('; ');
  throw new ApiError(400, 'VALIDATION_FAILED', `Invalid ${what}: ${summary}`, { errors: problems });
}
