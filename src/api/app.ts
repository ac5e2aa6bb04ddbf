import type { Client } from '@temporalio/client';
import express, { type Express } from 'express';
import type { TransactionalDb } from '../eventstore';
import type { Logger } from '../logger';
import { accountsRouter } from './accounts';
import { healthRouter } from './health';
import { inventoryRouter } from './inventory';
import { OrderGateway, type OrderActorSettings } from './orderGateway';
import { ordersRouter } from './orders';
import { ApiError } from './problem';
import { problemHandler } from './problem';
import { productsRouter } from './products';

export const BODY_LIMIT = '64kb';

export interface AppDependencies {
  db: TransactionalDb;
  client: Client;
  namespace: string;
  actors: OrderActorSettings;
  logger: Logger;
}

export function createApp(deps: AppDependencies): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false); // ETags are order versions, set by the routes
  app.use(express.json({ limit: BODY_LIMIT, type: ['application/json', 'application/*+json'] }));
  app.use(healthRouter({ db: deps.db, client: deps.client, taskQueue: deps.actors.taskQueue, namespace: deps.namespace }));
  app.use(ordersRouter(new OrderGateway(deps.client, deps.actors), deps.db));
  app.use(productsRouter(deps.db));
  app.use(inventoryRouter(deps.db));
  app.use(accountsRouter(deps.db));
  app.use((req, _res, next) => next(new ApiError(404, 'ROUTE_NOT_FOUND', `No route for ${req.method} ${req.path}.`)));
  app.use(problemHandler(deps.logger));
  return app;
}
