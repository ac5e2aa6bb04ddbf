import { Router, type Request, type RequestHandler, type Response } from 'express';
import type { z } from 'zod';
import type { ProblemCode } from './problem';

/** Answers one request with what its router was given (`deps`); what it returns is ignored, what it throws goes to the problem handler. */
export type Handler<D> = (req: Request, res: Response, deps: D) => unknown;

/** Request headers a route reads; the contract (openapi.ts) says what each means. */
export type RequestHeader = 'If-Match' | 'Idempotency-Key' | 'Prefer';
/** Answer headers a route may set. */
export type AnswerHeader = 'ETag' | 'Location' | 'Preference-Applied';

/** One successful answer of a route: a JSON body with its schema, a body of another media type, or none. */
export type Answer = { description: string; headers?: readonly AnswerHeader[] } & (
  | {
      /** The JSON body's schema: the contract (and the typed client) says what a client reads. */
      body: z.ZodType;
      mediaType?: never;
      empty?: never;
    }
  | {
      /** A body that is not JSON (a text exposition, say): its media type (or types); the contract then calls it a string. */
      mediaType: string | readonly string[];
      body?: never;
      empty?: never;
    }
  | {
      /** No body at all: a 304 Not Modified. */
      empty: true;
      body?: never;
      mediaType?: never;
    }
);

/**
 * What a route accepts and answers, for the OpenAPI contract. The schemas are the ones its handler
 * parses with, so the contract and the validation cannot differ.
 */
export interface RouteContract {
  summary: string;
  /** Path parameters; by default each `:name` in the path is an id (`idSchema`). */
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  headers?: readonly RequestHeader[];
  answers: Readonly<Partial<Record<number, Answer>>>;
  /** The problem `code`s this route itself answers with, by status; guards and the app's middleware add theirs. */
  problems: Readonly<Partial<Record<number, readonly ProblemCode[]>>>;
}

type Problems = RouteContract['problems'];

/** The union of several routes' problem lists, each code once. */
export function problemsOf(...lists: Problems[]): Problems {
  const merged: Partial<Record<number, ProblemCode[]>> = {};
  for (const list of lists) {
    for (const [status, codes] of Object.entries(list)) {
      const into = (merged[Number(status)] ??= []);
      for (const code of codes ?? []) if (!into.includes(code)) into.push(code);
    }
  }
  return merged;
}

/** One row of a route table; `guard` runs before `handle`, after its table's guard. */
export interface Route<D> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path: string;
  guard?: RequestHandler;
  handle: Handler<D>;
  contract: RouteContract;
}

/**
 * The routes of one part of the API. `guard.by` answers every request under `guard.paths`,
 * unknown routes included, so a caller without a token gets 401 there before any 404.
 */
export interface RouteTable<D> {
  guard?: { paths: readonly string[]; by: RequestHandler };
  routes: ReadonlyArray<Route<D>>;
}

export function routerOf<D>(table: RouteTable<D>, deps: D): Router {
  const router = Router();
  if (table.guard) router.use([...table.guard.paths], table.guard.by);
  for (const { method, path, guard, handle } of table.routes) {
    const handler: RequestHandler = (req, res) => handle(req, res, deps);
    if (guard) router[method](path, guard, handler);
    else router[method](path, handler);
  }
  return router;
}
