import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { orderDecider, orderStreamId } from '../domain/order';
import { InvalidToken, TokenKeysUnavailable, type Principal, type TokenVerifier } from '../auth/tokens';
import { type Queryable } from '../eventstore';
import type { Logger } from '../logger';
import { ApiError } from './problem';
import { foldRecorded } from '../application/foldStream';
import { firstEvent } from '../application/eventStore';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Locals {
      /** Who the bearer token speaks for; absent on an anonymous request. */
      principal?: Principal;
      /** Why the Authorization header was refused; `refuseInvalidToken` answers it, after the rate limit counted it. */
      tokenRefusal?: ApiError;
    }
  }
}

const unauthenticated = () =>
  new ApiError(401, 'UNAUTHENTICATED', 'This route needs a bearer token: Authorization: Bearer <token>.', {}, { 'WWW-Authenticate': 'Bearer' });

/** Longer than any token we or an identity provider issue (a few kB with many claims), short of node's 16 kB header limit. */
const MAX_TOKEN_LENGTH = 8192;
const BEARER = new RegExp(`^Bearer[ ]+([A-Za-z0-9_.=-]{1,${MAX_TOKEN_LENGTH}})\\s*$`, 'i');

/** What a refused token is answered with (RFC 6750 §3): expired tokens have their own code, so clients know to renew them. */
function refusalOf(err: unknown): ApiError | undefined {
  if (err instanceof InvalidToken) {
    return err.expired
      ? new ApiError(401, 'TOKEN_EXPIRED', 'The bearer token has expired: get a new one.', {}, { 'WWW-Authenticate': 'Bearer error="invalid_token"' })
      : new ApiError(401, 'INVALID_TOKEN', `The bearer token was refused: ${err.message}.`, {}, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
  }
  if (err instanceof TokenKeysUnavailable) {
    return new ApiError(
      503,
      'IDENTITY_PROVIDER_UNAVAILABLE',
      'The keys that verify bearer tokens cannot be fetched right now. Retry shortly.',
      {},
      { 'Retry-After': '5' },
    );
  }
  return undefined;
}

/**
 * Reads `Authorization: Bearer <token>`. No header leaves the request anonymous (the routes decide
 * whether that is enough). A header that is not a valid, unexpired token we accept is recorded, not
 * refused here: the rate limiter counts the request by its address first, and
 * `refuseInvalidToken` then answers 401 (or 503 when the identity provider's keys are out of
 * reach), so bad tokens cannot skip the limit.
 */
export function authenticate(verify: TokenVerifier, logger: Logger): RequestHandler {
  return async (req, res, next) => {
    const header = req.get('Authorization');
    if (header === undefined) return next();
    const match = BEARER.exec(header);
    if (!match) {
      res.locals.tokenRefusal = new ApiError(
        401,
        'INVALID_TOKEN',
        'The Authorization header must be "Bearer <token>".',
        {},
        { 'WWW-Authenticate': 'Bearer error="invalid_request"' },
      );
      return next();
    }
    try {
      res.locals.principal = await verify(match[1]!);
    } catch (err) {
      const refusal = refusalOf(err);
      if (!refusal) return next(err);
      // The client sees a 503 without the provider's address; the operator sees why.
      if (err instanceof TokenKeysUnavailable) logger.warn({ err: err.message }, 'identity provider keys unavailable');
      res.locals.tokenRefusal = refusal;
    }
    next();
  };
}

/** A bad Authorization header is 401 INVALID_TOKEN on every route, open ones included. Mount after the rate limit. */
export const refuseInvalidToken: RequestHandler = (_req, res, next) => next(res.locals.tokenRefusal);

/** The caller, or a 401. */
export function principalOf(res: Response): Principal {
  const principal = res.locals.principal;
  if (!principal) throw unauthenticated();
  return principal;
}

/** Any valid token: customers and admins. */
export const signedIn: RequestHandler = (_req, res, next) => next(res.locals.principal ? undefined : unauthenticated());

/** Running the shop: the catalog, stock, shipping, the read side. */
export const adminOnly: RequestHandler = (_req: Request, res: Response, next: NextFunction) => {
  const principal = res.locals.principal;
  if (!principal) return next(unauthenticated());
  if (principal.role !== 'admin') return next(new ApiError(403, 'FORBIDDEN', 'Only an admin token may do this.'));
  next();
};

/**
 * A customer sees only its own account and orders; another customer's answer as if they did not
 * exist (`notFound`), so ids cannot be probed. Admins see every customer.
 */
export function assertCustomerAccess(res: Response, customerId: string, notFound: () => ApiError): void {
  const principal = principalOf(res);
  if (principal.role === 'customer' && principal.sub !== customerId) throw notFound();
}

export const orderNotFound = () => new ApiError(404, 'ORDER_NOT_FOUND', 'There is no such order.');

/**
 * Who owns an order: the customer its first event (`OrderCreated`, written before its creation
 * was answered) gives it, read through the order's own fold, so a new shape of that event cannot
 * lose the owner. Owners never change, so they are cached, and the cache stays true whatever
 * another API replica does: an order stream's version 1 is written once (UNIQUE (stream_id,
 * version)) and never updated or deleted (the events table's append-only trigger). Only owners
 * found (or created by this process) are kept: "no such order" may stop being true a moment later. A bounded map, oldest out first.
 */
export class OrderOwners {
  private readonly cache = new Map<string, string>();

  constructor(
    private readonly db: Queryable,
    private readonly maxCached = 10_000,
  ) {}

  async ownerOf(orderId: string): Promise<string | undefined> {
    const cached = this.cache.get(orderId);
    if (cached !== undefined) return cached;
    const created = await firstEvent(this.db, orderStreamId(orderId));
    if (!created) return undefined;
    const owner = foldRecorded(orderDecider, [created]).customerId;
    if (owner === null) return undefined;
    this.remember(orderId, owner);
    return owner;
  }

  /**
   * The owner of an order this process has just seen created (its `OrderCreated` stored for
   * `customerId`): the order's next command finds it here instead of reading the stream.
   */
  remember(orderId: string, customerId: string): void {
    if (this.cache.has(orderId)) return;
    if (this.cache.size >= this.maxCached) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(orderId, customerId);
  }

  /** A customer's own order passes; another's, or one that does not exist, is a 404. Admins pass. */
  async assertAccess(res: Response, orderId: string): Promise<void> {
    const principal = principalOf(res);
    if (principal.role === 'admin') return;
    if ((await this.ownerOf(orderId)) !== principal.sub) throw orderNotFound();
  }
}
