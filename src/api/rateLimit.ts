import type { Request, RequestHandler, Response } from 'express';
import { ApiError } from './problem';

export interface RateLimitSettings {
  /** Requests a caller may make per second, sustained. */
  perSecond: number;
  /** Requests a caller may make at once after being idle. */
  burst: number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/**
 * Who a request counts against: its token's subject when the token is valid, else its client
 * address (`req.ip`: the socket's peer, or what a trusted proxy forwarded; see TRUST_PROXY). A
 * missing, malformed or forged token is counted by address like an anonymous request.
 */
export function callerOf(req: Request, res: Response): string {
  const principal = res.locals.principal;
  return principal ? `${principal.role}:${principal.sub}` : `ip:${req.ip ?? 'unknown'}`;
}

/**
 * A token bucket per caller (`callerOf`). Runs before a bad token is refused, so 401s are counted
 * too. In memory, so each API process limits on its own; behind N processes a caller gets up to
 * N times the rate. The map is bounded: at `maxCallers` the least recently seen caller starts afresh.
 */
export function rateLimit(settings: RateLimitSettings, now: () => number = Date.now, maxCallers = 100_000): RequestHandler {
  const buckets = new Map<string, Bucket>();
  return (req, res, next) => {
    const caller = callerOf(req, res);
    const at = now();
    const bucket = buckets.get(caller) ?? { tokens: settings.burst, updatedAt: at };
    bucket.tokens = Math.min(settings.burst, bucket.tokens + ((at - bucket.updatedAt) / 1000) * settings.perSecond);
    bucket.updatedAt = at;
    buckets.delete(caller); // re-inserted below: the map's order is least recently seen first
    if (buckets.size >= maxCallers) buckets.delete(buckets.keys().next().value!);
    buckets.set(caller, bucket);
    if (bucket.tokens < 1) {
      const retryAfter = Math.max(1, Math.ceil((1 - bucket.tokens) / settings.perSecond));
      return next(
        new ApiError(429, 'RATE_LIMITED', `Too many requests from this caller. Retry in ${retryAfter} s.`, {}, { 'Retry-After': String(retryAfter) }),
      );
    }
    bucket.tokens -= 1;
    next();
  };
}
