import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, RequestHandler } from 'express';
import { pinoHttp } from 'pino-http';
import type { Logger } from '../logger';
import { routeTemplate } from '../metrics';

/** A caller's or proxy's request id we pass on: short, and nothing a log line or a header could be bent by. */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:=+/-]{1,128}$/;

/** The request's `X-Request-Id` if it is a sane one, else a fresh UUID; echoed on the answer either way. */
function requestIdOf(req: IncomingMessage, res: ServerResponse): string {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && SAFE_REQUEST_ID.test(given) ? given : randomUUID();
  res.setHeader('X-Request-Id', id);
  return id;
}

/** The access log line's fields: the route template (never the raw path with its ids), status and duration; the request id is bound. */
const lineOf = (req: IncomingMessage, res: ServerResponse, val: { durationMs: number }) => ({
  method: req.method,
  route: routeTemplate(req as Request),
  status: res.statusCode,
  durationMs: val.durationMs,
});

/** One access log line per request (pino-http), each answer carrying its `X-Request-Id`. */
export function requestLog(logger: Logger): RequestHandler {
  return pinoHttp({
    logger,
    genReqId: requestIdOf,
    // Bind only the id to req.log: headers would repeat on every line (and carry the token, were it not redacted).
    quietReqLogger: true,
    quietResLogger: true,
    customAttributeKeys: { reqId: 'requestId', responseTime: 'durationMs' },
    customLogLevel: (_req, res, err) => (err !== undefined || res.statusCode >= 500 ? 'warn' : 'info'),
    customSuccessMessage: () => 'request',
    customErrorMessage: () => 'request failed',
    customSuccessObject: lineOf,
    // The problem handler logs a 500's error with its stack; this line only says that the request failed.
    customErrorObject: (req, res, _err, val: { durationMs: number }) => lineOf(req, res, val),
  });
}
