import type { Client } from '@temporalio/client';
import express, { type Express, type RequestHandler } from 'express';
import pg from 'pg';
import { tokenVerifier, type TokenSettings } from '../auth/tokens';
import type { TrustProxy } from '../config';
import { ReadModelChanges, type ReadModelChangeFeed } from '../db/readModelChanges';
import type { TransactionalDb } from '../eventstore';
import type { Logger } from '../logger';
import { httpMetrics, metricsEndpoint } from '../metrics';
import { allProjections, projectionStatuses, type Projection } from '../projections';
import { authenticate, OrderOwners, refuseInvalidToken } from './access';
import { accountRoutes } from './accounts';
import { adminRoutes } from './admin';
import { consolePageRoutes, consoleRoutes } from './console';
import { docsRoutes } from './docs';
import { healthRoutes } from './health';
import { inventoryRoutes } from './inventory';
import { contractRoutes, openApiDocument } from './openapi';
import { OrderGateway, type OrderActorSettings } from './orderGateway';
import { orderRoutes } from './orders';
import { ApiError, problemHandler } from './problem';
import { productRoutes } from './products';
import { rateLimit, type RateLimitSettings } from './rateLimit';
import { ReadWaits, type ReadWaitLimits } from './readConsistency';
import { jsonBodiesOnly } from './requestContext';
import { requestLog } from './requestLog';
import { routerOf, type RouteTable } from './routes';
import { securityHeaders } from './securityHeaders';

export const BODY_LIMIT = '64kb';
/** The Temporal dev server's Web UI, as `npm start` runs it. */
export const DEFAULT_TEMPORAL_UI_URL = 'http://localhost:8233';
const BODY_LIMIT_BYTES = 64 * 1024;
const JSON_TYPES = ['application/json', 'application/*+json'];
/** The routes behind authentication, the rate limit and the body parser. */
const GUARDED_TABLES = [orderRoutes, productRoutes, inventoryRoutes, accountRoutes, adminRoutes, consoleRoutes];

export interface AppDependencies {
  db: TransactionalDb;
  client: Client;
  namespace: string;
  actors: OrderActorSettings;
  logger: Logger;
  /** Whose bearer tokens count (an identity provider's, or HS256 with `secret`); each caller is held to `rateLimit`. */
  auth: TokenSettings & { rateLimit: RateLimitSettings };
  /** How long `?minVersion=` waits for a read model (default 5 s). */
  readWaitMs?: number;
  /** How many `?minVersion=` reads may wait at once, per process and per caller (default 1000 and 100). */
  readWaitLimits?: ReadWaitLimits;
  /**
   * What wakes waiting reads: the projector's notifications. Default: `ReadModelChanges` on its
   * own LISTEN connection to `db`'s server (then `db` must be a pg Pool).
   */
  readModelChanges?: ReadModelChangeFeed;
  /**
   * express's `trust proxy` (TRUST_PROXY): whose X-Forwarded-For to believe for the client
   * address, which anonymous callers are rate limited by. Default: nobody's (the socket's peer).
   */
  trustProxy?: TrustProxy;
  /** The projections /admin reports on and retries dead letters with (default: all the service runs). */
  projections?: readonly Projection[];
  /** The Temporal Web UI the console links workflows to (default: the dev server's, TEMPORAL_UI_URL). */
  temporalUiUrl?: string;
}

export function createApp(deps: AppDependencies): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false); // ETags are stream versions, set by the routes (sendVersioned)
  app.set('trust proxy', deps.trustProxy ?? false);
  const routeDeps = {
    db: deps.db,
    gateway: new OrderGateway(deps.client, deps.actors, deps.db),
    owners: new OrderOwners(deps.db),
    reads: new ReadWaits(deps.readModelChanges ?? changesOf(deps.db), deps.readWaitMs, deps.readWaitLimits),
    projections: deps.projections ?? allProjections,
    client: deps.client,
    actors: deps.actors,
    temporal: { uiUrl: deps.temporalUiUrl ?? DEFAULT_TEMPORAL_UI_URL, namespace: deps.namespace },
  };
  app.use(requestLog(deps.logger)); // first: every answer, even a refusal, carries its X-Request-Id and gets its access log line
  app.use(httpMetrics);
  app.use(securityHeaders);
  // Probes, the Prometheus scrape and the contract first: no token, no limit (keep /metrics off the public edge: README).
  app.use(routerOf(healthRoutes, { db: deps.db, client: deps.client, taskQueue: deps.actors.taskQueue, namespace: deps.namespace }));
  const scrapeRoutes = metricsRoutes(metricsEndpoint(() => projectionStatuses(deps.db, routeDeps.projections)));
  app.use(routerOf(scrapeRoutes, undefined));
  app.use(routerOf(consolePageRoutes, undefined));
  const open = [healthRoutes, scrapeRoutes, contractRoutes, docsRoutes, consolePageRoutes];
  app.use(routerOf(contractRoutes, { document: openApiDocument({ open, guarded: GUARDED_TABLES }) }));
  app.use(routerOf(docsRoutes, undefined));
  // Who is calling and how often, before any body is read; a bad token is counted, then refused.
  app.use(authenticate(tokenVerifier(deps.auth), deps.logger));
  app.use(rateLimit(deps.db, deps.auth.rateLimit));
  app.use(refuseInvalidToken);
  app.use(jsonBodiesOnly(JSON_TYPES, BODY_LIMIT_BYTES));
  app.use(express.json({ limit: BODY_LIMIT, type: JSON_TYPES }));
  for (const table of GUARDED_TABLES) app.use(routerOf(table, routeDeps));
  app.use((req, _res, next) => next(new ApiError(404, 'ROUTE_NOT_FOUND', `No route for ${req.method} ${req.path}.`)));
  app.use(problemHandler(deps.logger));
  return app;
}

/** GET /metrics as a route table row, so the contract names it too. */
function metricsRoutes(scrape: RequestHandler): RouteTable<undefined> {
  return {
    routes: [
      {
        method: 'get',
        path: '/metrics',
        handle: (req, res) => scrape(req, res, () => undefined),
        contract: {
          summary: 'Prometheus metrics of this API process.',
          answers: { 200: { description: 'The Prometheus text exposition format.', mediaType: 'text/plain' } },
          problems: {},
        },
      },
    ],
  };
}

function changesOf(db: TransactionalDb): ReadModelChangeFeed {
  if (db instanceof pg.Pool) return ReadModelChanges.forPool(db);
  throw new Error('createApp: pass readModelChanges when db is not a pg Pool');
}
