import { STATUS_CODES } from 'node:http';
import type { ErrorRequestHandler, Response } from 'express';
import { isDatabaseUnavailable } from '../db/unavailable';
import { DomainError } from '../domain/decider';
import { WrongExpectedVersion } from '../eventstore';
import type { Logger } from '../logger';
import type { CommandRejected } from '../workflows/orderContract';

/** An error a client can act on: it becomes an RFC 9457 problem document with a stable `code`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/**
 * Every stable problem `code` the API answers with, and its title: a short summary of the problem
 * type that stays the same whatever the instance (RFC 9457 §3.1.3). The contract lists them all.
 */
export const PROBLEM_TITLES = {
  ACCOUNT_NOT_FOUND: 'Account not found',
  ACTION_IN_PROGRESS: 'Action in progress',
  BAD_REQUEST: 'Request not readable',
  CANCELLATION_REASON_REQUIRED: 'Cancellation reason required',
  CART_EMPTY: 'Cart is empty',
  CLIENT_CLOSED_REQUEST: 'Client closed the request',
  COMMAND_FAILED: 'Command failed',
  COMMAND_NOT_FOUND: 'Command not found',
  COMMAND_TIMEOUT: 'Order did not answer in time',
  COMPENSATION_REQUIRED: 'Compensation required first',
  CONCURRENT_UPDATE: 'Concurrent update',
  CUSTOMER_NOT_FOUND: 'Customer not found',
  DATABASE_UNAVAILABLE: 'Database unavailable',
  DEAD_LETTER_NOT_FOUND: 'Dead letter not found',
  DEAD_LETTER_RETRY_FAILED: 'Dead letter retry failed',
  FORBIDDEN: 'Forbidden for this caller',
  HEAL_REFUSED: 'Heal refused',
  IDEMPOTENCY_KEY_REQUIRED: 'Idempotency-Key required',
  IDEMPOTENCY_KEY_REUSED: 'Idempotency-Key reused for another request',
  IDENTITY_PROVIDER_UNAVAILABLE: 'Identity provider unavailable',
  INSUFFICIENT_FUNDS: 'Insufficient funds',
  INTERNAL_ERROR: 'Internal error',
  INVALID_ADDRESS: 'Invalid address',
  INVALID_AMOUNT: 'Invalid amount',
  INVALID_COMMAND: 'Invalid command',
  INVALID_CURSOR: 'Invalid cursor',
  INVALID_CUSTOMER: 'Invalid customer',
  INVALID_ID: 'Invalid id in the path',
  INVALID_IDEMPOTENCY_KEY: 'Invalid Idempotency-Key',
  INVALID_IF_MATCH: 'Invalid If-Match',
  INVALID_NAME: 'Invalid product name',
  INVALID_PRICE: 'Invalid price',
  INVALID_QUANTITY: 'Invalid quantity',
  INVALID_TOKEN: 'Invalid bearer token',
  ITEM_NOT_IN_CART: 'Item not in the cart',
  MALFORMED_JSON: 'Malformed JSON',
  ORDER_ALREADY_EXISTS: 'Order already exists',
  ORDER_CLOSED: 'Order is closed',
  ORDER_NOT_CONFIRMED: 'Order not confirmed',
  ORDER_NOT_FOUND: 'Order not found',
  ORDER_NOT_PENDING: 'Order not pending',
  ORDER_RECOVERING: 'Order recovering',
  ORDER_TOTAL_TOO_LARGE: 'Order total too large',
  ORDER_UNAVAILABLE: 'Order unavailable',
  PAYLOAD_TOO_LARGE: 'Payload too large',
  PRICES_CHANGED: 'Prices changed',
  PRODUCT_ALREADY_EXISTS: 'Product already exists',
  PRODUCT_NOT_FOUND: 'Product not found',
  RATE_LIMITED: 'Rate limited',
  READ_MODEL_BEHIND: 'Read model behind',
  READ_WAITS_EXHAUSTED: 'Read waits exhausted',
  ROUTE_NOT_FOUND: 'Route not found',
  SHIPPING_ADDRESS_MISSING: 'Shipping address missing',
  STREAM_NOT_FOUND: 'Stream not found',
  TEMPORAL_UNAVAILABLE: 'Workflow service unavailable',
  TOO_MANY_READ_WAITS: 'Too many read waits',
  TOKEN_EXPIRED: 'Bearer token expired',
  TOO_MANY_REQUESTS: 'Too many requests for this order',
  UNAUTHENTICATED: 'Bearer token required',
  UNSUPPORTED_MEDIA_TYPE: 'Unsupported media type',
  VALIDATION_FAILED: 'Validation failed',
  VERSION_MISMATCH: 'Version mismatch',
  VERSION_NOT_FOUND: 'Version not found',
} as const satisfies Record<string, string>;

export type ProblemCode = keyof typeof PROBLEM_TITLES;

export const isProblemCode = (code: string): code is ProblemCode => Object.hasOwn(PROBLEM_TITLES, code);

/**
 * The `type` URI of a code: a tag URI (RFC 4151), which RFC 9457 §3.1.1 suggests for types that
 * are not meant to be dereferenced; GET /openapi.json documents each one.
 */
export const problemTypeOf = (code: ProblemCode): string => `tag:order-actors,2026:problem:${code}`;

export function sendProblem(res: Response, error: ApiError): void {
  for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
  // A code not in the catalog (a new domain rule) is still answered: as about:blank, whose title is the status phrase.
  const { type, title } = isProblemCode(error.code)
    ? { type: problemTypeOf(error.code), title: PROBLEM_TITLES[error.code] }
    : { type: 'about:blank', title: STATUS_CODES[error.status] ?? 'Error' };
  res
    .status(error.status)
    .type('application/problem+json')
    .json({ type, title, status: error.status, code: error.code, detail: error.message, ...error.extra });
}

/** The status of each kind of refusal, whether a decider threw it here or an order actor answered it. */
export const STATUS_BY_KIND: Record<CommandRejected['kind'], number> = {
  invalid: 400,
  not_found: 404,
  conflict: 409,
  precondition: 412,
  rule: 422,
};

/**
 * What the service's own errors mean to a client: a rule refused the command, or the stream kept
 * changing under it until the command host gave up (every retry lost to another writer).
 */
function apiErrorOf(err: unknown): ApiError | undefined {
  if (err instanceof ApiError) return err;
  if (err instanceof DomainError) return new ApiError(STATUS_BY_KIND[err.kind], err.code, err.message);
  if (err instanceof WrongExpectedVersion) {
    return new ApiError(409, 'CONCURRENT_UPDATE', 'This changed too often while the command was decided. Try again.', {}, { 'Retry-After': '1' });
  }
  return undefined;
}

interface BodyParserError {
  type?: string;
  status?: number;
}

/** The last middleware: every error leaves as problem+json; unknown ones as a 500 without internals. */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const apiError = apiErrorOf(err);
    if (apiError) return sendProblem(res, apiError);
    const parserError = err as BodyParserError;
    if (parserError?.type === 'entity.parse.failed') {
      return sendProblem(res, new ApiError(400, 'MALFORMED_JSON', 'The request body is not valid JSON.'));
    }
    if (parserError?.type === 'entity.too.large') {
      return sendProblem(res, new ApiError(413, 'PAYLOAD_TOO_LARGE', 'The request body is larger than the 64 kB limit.'));
    }
    if (parserError?.status && parserError.status >= 400 && parserError.status < 500) {
      const code = parserError.status === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : 'BAD_REQUEST'; // an unknown charset or Content-Encoding
      return sendProblem(res, new ApiError(parserError.status, code, 'The request could not be read.'));
    }
    if (isDatabaseUnavailable(err)) {
      logger.warn({ err: String(err), method: req.method, url: req.originalUrl }, 'database unavailable');
      return sendProblem(res, new ApiError(503, 'DATABASE_UNAVAILABLE', 'The database is unavailable. Retry shortly.', {}, { 'Retry-After': '2' }));
    }
    logger.error({ err, method: req.method, url: req.originalUrl }, 'Unhandled error');
    return sendProblem(res, new ApiError(500, 'INTERNAL_ERROR', 'Something went wrong on our side. Try again later.'));
  };
}
