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

export function sendProblem(res: Response, error: ApiError): void {
  for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
  res
    .status(error.status)
    .type('application/problem+json')
    .json({ type: `about:blank`, title: error.code, status: error.status, code: error.code, detail: error.message, ...error.extra });
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
