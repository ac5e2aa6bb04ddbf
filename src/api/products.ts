import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import { z } from 'zod';
import { clientCommandId } from '../domain/commandIds';
import { DomainError, fold, type Decider } from '../domain/decider';
import { productDecider, productStreamId, type ProductCommand, type ProductEvent, type ProductState } from '../domain/product';
import { stockStreamId } from '../domain/stock';
import { findProduct } from '../application/catalog';
import { commandMetadata } from '../application/commandMetadata';
import { executeStockCommand } from '../application/stock';
import { type TransactionalDb } from '../eventstore';
import { CATALOG, type CatalogRow } from '../projections/readModels';
import { readAllStock, readStock, stockLevel } from './inventory';
import { adminOnly } from './access';
import { ApiError } from './problem';
import { commandIdOf, idFromIdempotencyKey, pathId } from './requestContext';
import { consistencyQuery, readAtLeast, type ReadWaits } from './readConsistency';
import { parseInput } from './validation';
import { readStream } from '../application/eventStore';
import { foldRecorded } from '../application/foldStream';
import { handleCommand } from '../application/handleCommand';

const createProductBody = z
  .object({ name: z.string().trim().min(1).max(200), description: z.string().max(2000).default(''), priceCents: z.number().int().safe() })
  .strict();
const patchProductBody = z
  .object({ name: z.string().trim().min(1).max(200).optional(), priceCents: z.number().int().safe().optional() })
  .strict()
  .refine((b) => b.name !== undefined || b.priceCents !== undefined, 'give a name, a priceCents, or both');
const restockBody = z.object({ quantity: z.number().int().safe() }).strict();

const productQuery = consistencyQuery.extend({
  /** Also wait for the stock stream (restocks answer with the stock's version). */
  minStockVersion: z.coerce.number().int().min(1).safe().optional(),
});
const listQuery = consistencyQuery.pick({ consistency: true });


function catalogView(row: CatalogRow) {
  return {
    productId: row.product_id,
    name: row.name,
    description: row.description,
    priceCents: Number(row.price_cents),
    version: Number(row.product_version),
    stock: stockLevel(Number(row.on_hand), Number(row.reserved)),
  };
}

const STATUS_BY_KIND = { conflict: 409, rule: 422, not_found: 404, precondition: 412 } as const;

export function apiErrorFromDomain(err: unknown): unknown {
  return err instanceof DomainError ? new ApiError(STATUS_BY_KIND[err.kind], err.code, err.message) : err;
}

/** Product commands decided in turn and appended together: all their events or none. */
const productCommandsDecider: Decider<ProductCommand[], ProductState, ProductEvent> = {
  initialState: productDecider.initialState,
  evolve: productDecider.evolve,
  decide(commands, state) {
    const events: ProductEvent[] = [];
    for (const command of commands) {
      const decided = productDecider.decide(command, state);
      state = decided.reduce(productDecider.evolve, state);
      events.push(...decided);
    }
    return events;
  },
};

function productView(state: ProductState, version: number) {
  const { exists: _exists, ...product } = state;
  return { ...product, version };
}

/**
 * The catalog: products are event-sourced in Postgres through the generic command handler. Their
 * stock is a state-stored aggregate of its own (`stock-<productId>`), restocked here.
 */
export function productsRouter(db: TransactionalDb, reads: ReadWaits): Router {
  const router = Router();

  async function run(productId: string, command: ProductCommand | ProductCommand[], commandId: string) {
    try {
      return await handleCommand(db, productCommandsDecider, { id: productStreamId(productId), type: 'product' }, [command].flat(), {
        metadata: { commandId: clientCommandId(commandId), correlationId: commandId, causationId: commandId },
        newEventId: randomUUID,
        now: () => new Date(),
        skipIfCommandStored: true,
      });
    } catch (err) {
      throw apiErrorFromDomain(err);
    }
  }

  // Reading the catalog is public; changing it and its stock is for admins.
  router.post('/products', adminOnly, async (req, res) => {
    const body = parseInput(createProductBody, req.body);
    const commandId = commandIdOf(req);
    // A retried create with the same key names the same product, and is then not applied again.
    const productId = req.get('Idempotency-Key') ? idFromIdempotencyKey('product', commandId) : randomUUID();
    const result = await run(productId, { type: 'CreateProduct', productId, ...body }, commandId);
    res.status(201).location(`/products/${productId}`).json(productView(result.state, result.version));
  });

  router.patch('/products/:productId', adminOnly, async (req, res) => {
    const productId = pathId(req, 'productId');
    const body = parseInput(patchProductBody, req.body);
    const commands: ProductCommand[] = [];
    if (body.name !== undefined) commands.push({ type: 'RenameProduct', name: body.name });
    if (body.priceCents !== undefined) commands.push({ type: 'RepriceProduct', priceCents: body.priceCents });
    // One append: a valid name with an invalid price is refused whole, not half-applied.
    const result = await run(productId, commands, commandIdOf(req));
    res.json(productView(result.state, result.version));
  });

  // The catalog model; ?minVersion / ?minStockVersion wait for it; ?consistency=strong folds the stream.
  router.get('/products/:productId', async (req, res) => {
    const productId = pathId(req, 'productId');
    const query = parseInput(productQuery, req.query, 'query');
    if (query.consistency !== 'strong') {
      const { minVersion = 0, minStockVersion = 0 } = query;
      const waiting = query.minVersion !== undefined || query.minStockVersion !== undefined;
      const row = await readAtLeast(
        async () => (await db.query<CatalogRow>('SELECT * FROM catalog WHERE product_id = $1', [productId])).rows[0],
        waiting ? (r) => Number(r?.product_version ?? 0) >= minVersion && Number(r?.stock_version ?? 0) >= minStockVersion : undefined,
        reads.forRequest(res, CATALOG, productStreamId(productId), stockStreamId(productId)),
        (r) => ({ minVersion, minStockVersion, currentVersion: Number(r?.product_version ?? 0), currentStockVersion: Number(r?.stock_version ?? 0) }),
      );
      if (!row?.product_exists) throw new ApiError(404, 'PRODUCT_NOT_FOUND', 'There is no such product.');
      res.json(catalogView(row));
      return;
    }
    const events = await readStream(db, productStreamId(productId));
    const state = foldRecorded(productDecider, events);
    if (!state.exists) throw new ApiError(404, 'PRODUCT_NOT_FOUND', 'There is no such product.');
    const { version: _stockVersion, ...stock } = await readStock(db, productId);
    res.json({ ...productView(state, events.length), stock });
  });

  // Every product folded from its stream, with its stock. Unpaginated: fine while the catalog is small.
  router.get('/products', async (req, res) => {
    if (parseInput(listQuery, req.query, 'query').consistency !== 'strong') {
      const { rows } = await db.query<CatalogRow>('SELECT * FROM catalog WHERE product_exists ORDER BY product_id');
      res.json({ products: rows.map(catalogView) });
      return;
    }
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

  router.post('/products/:productId/stock', adminOnly, async (req, res) => {
    const productId = pathId(req, 'productId');
    const { quantity } = parseInput(restockBody, req.body);
    if (!(await findProduct(db, productId))) throw new ApiError(404, 'PRODUCT_NOT_FOUND', 'There is no such product.');
    const commandId = commandIdOf(req);
    try {
      const result = await executeStockCommand(db, productId, { type: 'Restock', quantity }, commandMetadata(clientCommandId(commandId), commandId), { skipIfCommandStored: true });
      res.json({ productId, ...stockLevel(result.state.onHand, result.state.reserved), version: result.version });
    } catch (err) {
      throw apiErrorFromDomain(err);
    }
  });

  return router;
}
