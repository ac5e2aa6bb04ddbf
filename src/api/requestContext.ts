import { createHash } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { isOperatorKey } from '../domain/commandIds';
import { idSchema } from '../workflows/orderContract';
import { newCommandId } from './orderGateway';
import { ApiError } from './problem';

/** The command id: the client's `Idempotency-Key`, or a fresh one. Keys in the operators' namespace (`operator:…`) are refused. */
export function commandIdOf(req: Request): string {
  const key = req.get('Idempotency-Key');
  if (key === undefined) return newCommandId();
  if (!idSchema.safeParse(key).success) {
    throw new ApiError(400, 'INVALID_IDEMPOTENCY_KEY', 'Idempotency-Key must be 1 to 128 letters, digits, or _ . : - (a UUID works).');
  }
  if (isOperatorKey(key)) {
    throw new ApiError(
      400,
      'INVALID_IDEMPOTENCY_KEY',
      'Idempotency-Key must not start with "operator:"; that prefix is reserved for operators\' own commands.',
    );
  }
  return key;
}

/**
 * A resource id that follows from the client's Idempotency-Key, so a retried create names the same
 * resource instead of making a second one. A UUID (version 8: name-based, SHA-256) of the scope
 * and the key; the scope keeps two customers' equal keys apart.
 */
export function idFromIdempotencyKey(scope: string, key: string): string {
  const hash = createHash('sha256').update(`${scope}\n${key}`).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x80;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
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

/**
 * A request body is JSON or nothing. express.json skips other media types without reading them, so
 * a `text/plain` body would otherwise be ignored: a checkout or a DELETE with one went through, and
 * one over the limit was not refused as 413.
 */
export function jsonBodiesOnly(types: string[], limitBytes: number): RequestHandler {
  return (req, _res, next) => {
    const length = Number(req.get('Content-Length') ?? 0);
    const hasBody = req.get('Transfer-Encoding') !== undefined || length > 0;
    if (!hasBody || req.is(types)) return next();
    if (length > limitBytes) return next(new ApiError(413, 'PAYLOAD_TOO_LARGE', 'The request body is larger than the 64 kB limit.'));
    next(new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'The request body must be JSON, sent as Content-Type: application/json.'));
  };
}
