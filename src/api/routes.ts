import { Router, type Request, type RequestHandler, type Response } from 'express';

/** Answers one request with what its router was given (`deps`); what it returns is ignored, what it throws goes to the problem handler. */
export type Handler<D> = (req: Request, res: Response, deps: D) => unknown;

/** One row of a route table; `guard` runs before `handle`, after its table's guard. */
export interface Route<D> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path: string;
  guard?: RequestHandler;
  handle: Handler<D>;
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
