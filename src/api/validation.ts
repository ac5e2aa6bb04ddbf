import type { z } from 'zod';
import { ApiError } from './problem';
import { UNSTORABLE } from '../workflows/orderContract';

/** Turns unknown input into a typed value once, at the edge, or a 400 that says what is wrong. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, what = 'request body'): z.infer<S> {
  const unstorable = findUnstorableText(input);
  if (unstorable !== undefined) {
    const message = 'text must not contain NUL characters or unpaired UTF-16 surrogates';
    throw new ApiError(400, 'VALIDATION_FAILED', `Invalid ${what}: ${unstorable ? `${unstorable}: ` : ''}${message}`, {
      errors: [{ path: unstorable, message }],
    });
  }
  const parsed = schema.safeParse(input ?? {});
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
  const summary = problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join('; ');
  throw new ApiError(400, 'VALIDATION_FAILED', `Invalid ${what}: ${summary}`, { errors: problems });
}

/**
 * The path of the first key or string Postgres would refuse (the append fails: a 500, or an order
 * actor that retries its append forever), or undefined. Iterative, and paths are only spelled out
 * when found: bodies nest thousands deep.
 */
function findUnstorableText(input: unknown): string | undefined {
  interface At {
    key: string;
    parent?: At;
  }
  const spell = (at: At | undefined): string => {
    const keys: string[] = [];
    for (let a = at; a; a = a.parent) keys.push(a.key);
    return keys.reverse().join('.').slice(0, 200);
  };
  const pending: Array<[unknown, At | undefined]> = [[input, undefined]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [value, at] = next;
    if (typeof value === 'string' && UNSTORABLE.test(value)) return spell(at);
    if (value === null || typeof value !== 'object') continue;
    for (const [key, child] of Object.entries(value)) {
      const childAt = { key, parent: at };
      if (UNSTORABLE.test(key)) return spell(childAt);
      pending.push([child, childAt]);
    }
  }
  return undefined;
}
