import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import { z } from 'zod';
import { DomainError, fold } from '../domain/decider';
import { productDecider, productStreamId, type ProductCommand, type ProductEvent, type ProductState } from '../domain/product';
import { findProduct } from '../activities/catalogLookup';
import { executeStockCommand } from '../activities/stockActivities';
import { foldRecorded, handleCommand, readStream, type TransactionalDb } from '../eventstore';
import { readAllStock, readStock, stockLevel } from './inventory';
import { ApiError } from './problem';
import { commandIdOf, pathId } from './requestContext';
import { parseInput } from './validation';

const createProductBody = z
  .object({ name: z.string().trim().min(1).max(200), description: z.string().max(2000).default(''), priceCents: z.number().int().safe() })
  .strict();
const patchProductBody = z
  .object({ name: z.string().trim().min(1).max(200).optional(), priceCents: z.number().int().safe().optional() })
  .strict()
  .refine((b) => b.name !== undefined || b.priceCents !== undefined, 'give a name, a priceCents, or both');
const restockBody = z.object({ quantity: z.number().int().safe() }).strict();

const STATUS_BY_KIND = { conflict: 409, rule: 422, not_found: 404, precondition: 412 } as const;

export function apiErrorFromDomain(err: unknown): unknown {
  return err instanceof DomainError ? new ApiError(STATUS_BY_KIND[err.kind], err.code, err.message) : err;
}

function productView(state: ProductState, version: number) {
  const { exists: _exists, ...product } = state;
  return { ...product, version };
}

/**
 * The catalog: products are event-sourced in Postgres through the generic command handler. Their
 * stock is a state-stored aggregate of its own (`stock-<productId>`), restocked here.
 */
export function productsRouter(db: TransactionalDb): Router {
  const router = Router();

  async function run(productId: string, command: ProductCommand, commandId: string) {
    try {
      return await handleCommand(db, productDecider, { id: productStreamId(productId), type: 'product' }, command, {
        metadata: { commandId, correlationId: commandId, causationId: commandId },
        newEventId: randomUUID,
        now: () => new Date(),
      });
    } catch (err) {
      throw apiErrorFromDomain(err);
    }
  }

  router.post('/products', async (req, res) => {
    const body = parseInput(createProductBody, req.body);
    const productId = randomUUID();
    const result = await run(productId, { type: 'CreateProduct', productId, ...body }, commandIdOf(req));
    res.status(201).location(`/products/${productId}`).json(productView(result.state, result.version));
  });

  router.patch('/products/:productId', async (req, res) => {
    const productId = pathId(req, 'productId');
    const body = parseInput(patchProductBody, req.body);
    const commandId = commandIdOf(req);
    let result = undefined;
    if (body.name !== undefined) result = await run(productId, { type: 'RenameProduct', name: body.name }, commandId);
    if (body.priceCents !== undefined) result = await run(productId, { type: 'RepriceProduct', priceCents: body.priceCents }, `${commandId}:price`);
    res.json(productView(result!.state, result!.version));
  });

  router.get('/products/:productId', async (req, res) => {
    const productId = pathId(req, 'productId');
    const events = await readStream(db, productStreamId(productId));
    const state = foldRecorded(productDecider, events);
    if (!state.exists) throw new ApiError(404, 'PRODUCT_NOT_FOUND', 'There is no such product.');
    const { version: _stockVersion, ...stock } = await readStock(db, productId);
    res.json({ ...productView(state, events.length), stock });
  });

  // Every product folded from its stream, with its stock. Unpaginated: fine while the catalog is small.
  router.get('/products', async (_req, res) => {
    const [{ rows }, stock] = await Promise.all([
      db.query<{ stream_id: string; type: ProductEvent['type']; data: ProductEvent['data'] }>(
        `SELECT e.stream_id, e.type, e.data
           FROM streams s JOIN events e ON e.stream_id = s.stream_id
          WHERE s.stream_type = 'product'
          ORDER BY e.stream_id, e.version`,
      ),
      readAllStock(db),
    ]);
    const history = new Map<string, ProductEvent[]>();
    for (const row of rows) {
      const events = history.get(row.stream_id) ?? [];
      events.push({ type: row.type, data: row.data } as ProductEvent);
      history.set(row.stream_id, events);
    }
    const stockByProduct = new Map(stock.map((s) => [s.productId, stockLevel(s.onHand, s.reserved)]));
    const products = [...history.values()]
      .map((events) => ({ state: fold(productDecider, events), version: events.length }))
      .filter(({ state }) => state.exists)
      .map(({ state, version }) => ({ ...productView(state, version), stock: stockByProduct.get(state.productId!) ?? stockLevel(0, 0) }));
    res.json({ products });
  });

  router.post('/products/:productId/stock', async (req, res) => {
    const productId = pathId(req, 'productId');
    const { quantity } = parseInput(restockBody, req.body);
    if (!(await findProduct(db, productId))) throw new ApiError(404, 'PRODUCT_NOT_FOUND', 'There is no such product.');
    const commandId = commandIdOf(req);
    try {
      const result = await executeStockCommand(db, productId, { type: 'Restock', quantity }, commandId, commandId);
      res.json({ productId, ...stockLevel(result.state.onHand, result.state.reserved), version: result.version });
    } catch (err) {
      throw apiErrorFromDomain(err);
    }
  });

  return router;
}
