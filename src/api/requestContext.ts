import type { Request } from 'express';
import { idSchema } from '../workflows/orderContract';
import { newCommandId } from './orderGateway';
import { ApiError } from './problem';

/** The command id: the client's `Idempotency-Key`, or a fresh one. */
export function commandIdOf(req: Request): string {
  const key = req.get('Idempotency-Key');
  if (key === undefined) return newCommandId();
  if (!idSchema.safeParse(key).success) {
    throw new ApiError(400, 'INVALID_IDEMPOTENCY_KEY', 'Idempotency-Key must be 1 to 128 letters, digits, or _ . : - (a UUID works).');
  }
  return key;
}

/** `If-Match: "3"` → 3; absent or `*` → undefined. */
export function expectedVersionOf(req: Request): number | undefined {
  const header = req.get('If-Match');
  if (header === undefined || header.trim() === '*') return undefined;
  const match = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(header);
  if (!match) throw new ApiError(400, 'INVALID_IF_MATCH', 'If-Match must be a version ETag such as "3".');
  return Number(match[1]);
}

/** `Prefer: respond-async` asks for fire-and-forget (RFC 7240). */
export function prefersAsync(req: Request): boolean {
  return /(^|[,;\s])respond-async([,;\s]|$)/i.test(req.get('Prefer') ?? '');
}

/** A path id: malformed ones are refused before they reach Temporal or SQL. */
export function pathId(req: Request, name: string): string {
  const value = req.params[name];
  if (typeof value !== 'string' || !idSchema.safeParse(value).success) {
    throw new ApiError(400, 'INVALID_ID', `The ${name} in the path is not a valid id.`);
  }
  return value;
}
