import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { findProduct } from '../application/catalog';
import { commandMetadata } from '../application/commandMetadata';
import { executeStockCommand } from '../application/stock';
import { clientCommandId } from '../domain/commandIds';
import { PRODUCT_STREAM_TYPE, productDecider, productStreamId, type ProductCommand } from '../domain/product';
import { stockStreamId } from '../domain/stock';
import { type TransactionalDb } from '../eventstore';
import { CATALOG, listCatalog, productView, readCatalogEntry } from '../projections/catalog';
import { readAllStock, readStock, stockLevel } from '../projections/inventory';
import { adminOnly } from './access';
import { catalogProductAnswer, productAnswer, stockLevelAnswer } from './answers';
import { ApiError } from './problem';
import { consistencyQuery, READ_WAIT_PROBLEMS, readAtLeast, type ReadWaits } from './readConsistency';
import { commandIdOf, idFromIdempotencyKey, pathId } from './requestContext';
import type { Handler, RouteTable } from './routes';
import { parseInput } from './validation';
import { readStream, readStreamsOfType } from '../application/eventStore';
import { foldRecorded } from '../application/foldStream';
import { executeProductCommands } from '../application/products';

/** The stock level a restock answers, with the stock stream's version. */
const restockAnswer = stockLevelAnswer.extend({
  productId: z.string(),
  version: z.number().int().describe('The stock stream version: ?minStockVersion waits for it.'),
});

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

export interface ProductRouteDeps {
  db: TransactionalDb;
  reads: ReadWaits;
}

const productNotFound = () => new ApiError(404, 'PRODUCT_NOT_FOUND', 'There is no such product.');

const createProduct: Handler<ProductRouteDeps> = async (req, res, { db }) => {
  const body = parseInput(createProductBody, req.body);
  const commandId = commandIdOf(req);
  // A retried create with the same key names the same product, and is then not applied again.
  const productId = req.get('Idempotency-Key') ? idFromIdempotencyKey('product', commandId) : randomUUID();
  const result = await executeProductCommands(
    db,
    productId,
    [{ type: 'CreateProduct', productId, ...body }],
    commandMetadata(clientCommandId(commandId), commandId),
  );
  res.status(201).location(`/products/${productId}`).json(productView(result.state, result.version));
};

const changeProduct: Handler<ProductRouteDeps> = async (req, res, { db }) => {
  const productId = pathId(req, 'productId');
  const body = parseInput(patchProductBody, req.body);
  const commands: ProductCommand[] = [];
  if (body.name !== undefined) commands.push({ type: 'RenameProduct', name: body.name });
  if (body.priceCents !== undefined) commands.push({ type: 'RepriceProduct', priceCents: body.priceCents });
  // One append: a valid name with an invalid price is refused whole, not half-applied.
  const commandId = commandIdOf(req);
  const result = await executeProductCommands(db, productId, commands, commandMetadata(clientCommandId(commandId), commandId));
  res.json(productView(result.state, result.version));
};

// The catalog model; ?minVersion / ?minStockVersion wait for it; ?consistency=strong folds the stream.
const getProduct: Handler<ProductRouteDeps> = async (req, res, { db, reads }) => {
  const productId = pathId(req, 'productId');
  const query = parseInput(productQuery, req.query, 'query');
  if (query.consistency !== 'strong') {
    const entry = await readAtLeast(
      () => readCatalogEntry(db, productId),
      { version: query.minVersion, stockVersion: query.minStockVersion },
      reads.forRequest(res, CATALOG, productStreamId(productId), stockStreamId(productId)),
    );
    if (!entry?.product) throw productNotFound();
    res.json(entry.product);
    return;
  }
  const events = await readStream(db, productStreamId(productId));
  const state = foldRecorded(productDecider, events);
  if (!state.exists) throw productNotFound();
  const { version: _stockVersion, ...stock } = await readStock(db, productId);
  res.json({ ...productView(state, events.length), stock });
};

// Every product, from the catalog model or, with ?consistency=strong, folded from its stream.
const listProducts: Handler<ProductRouteDeps> = async (req, res, { db }) => {
  if (parseInput(listQuery, req.query, 'query').consistency !== 'strong') {
    res.json({ products: await listCatalog(db) });
    return;
  }
  const stock = await readAllStock(db);
  const stockByProduct = new Map(stock.map((s) => [s.productId, stockLevel(s.onHand, s.reserved)]));
  const products = [];
  for await (const stream of readStreamsOfType(db, PRODUCT_STREAM_TYPE)) {
    const state = foldRecorded(productDecider, stream.events);
    if (state.exists) products.push({ ...productView(state, stream.version), stock: stockByProduct.get(state.productId!) ?? stockLevel(0, 0) });
  }
  res.json({ products });
};

// Restocks the product's stock, a state-stored aggregate of its own (`stock-<productId>`).
const restock: Handler<ProductRouteDeps> = async (req, res, { db }) => {
  const productId = pathId(req, 'productId');
  const { quantity } = parseInput(restockBody, req.body);
  if (!(await findProduct(db, productId))) throw productNotFound();
  const commandId = commandIdOf(req);
  const result = await executeStockCommand(db, productId, { type: 'Restock', quantity }, commandMetadata(clientCommandId(commandId), commandId), {
    skipIfCommandStored: true,
  });
  res.json({ productId, ...stockLevel(result.state.onHand, result.state.reserved), version: result.version });
};

/** The catalog: reading it is public; changing it and its stock is for admins. */
export const productRoutes: RouteTable<ProductRouteDeps> = {
  routes: [
    {
      method: 'post',
      path: '/products',
      guard: adminOnly,
      handle: createProduct,
      contract: {
        summary: 'Add a product to the catalog. With an Idempotency-Key, a retry names the same product.',
        body: createProductBody,
        headers: ['Idempotency-Key'],
        answers: { 201: { description: 'The product; Location is its address.', headers: ['Location'], body: productAnswer } },
        problems: { 409: ['PRODUCT_ALREADY_EXISTS', 'CONCURRENT_UPDATE'], 422: ['INVALID_NAME', 'INVALID_PRICE'] },
      },
    },
    {
      method: 'patch',
      path: '/products/:productId',
      guard: adminOnly,
      handle: changeProduct,
      contract: {
        summary: 'Rename or reprice a product, in one change.',
        body: patchProductBody,
        headers: ['Idempotency-Key'],
        answers: { 200: { description: 'The product as changed.', body: productAnswer } },
        problems: { 404: ['PRODUCT_NOT_FOUND'], 409: ['CONCURRENT_UPDATE'], 422: ['INVALID_NAME', 'INVALID_PRICE'] },
      },
    },
    {
      method: 'get',
      path: '/products/:productId',
      handle: getProduct,
      contract: {
        summary: 'A product, from the catalog model (?minVersion / ?minStockVersion wait for it) or, with ?consistency=strong, its stream.',
        query: productQuery,
        answers: { 200: { description: 'The product and its stock.', body: catalogProductAnswer } },
        problems: { ...READ_WAIT_PROBLEMS, 404: ['PRODUCT_NOT_FOUND'] },
      },
    },
    {
      method: 'get',
      path: '/products',
      handle: listProducts,
      contract: {
        summary: 'The catalog.',
        query: listQuery,
        answers: { 200: { description: 'Every product and its stock.', body: z.object({ products: z.array(catalogProductAnswer) }) } },
        problems: {},
      },
    },
    {
      method: 'post',
      path: '/products/:productId/stock',
      guard: adminOnly,
      handle: restock,
      contract: {
        summary: 'Add stock to a product. An Idempotency-Key makes a retry count once.',
        body: restockBody,
        headers: ['Idempotency-Key'],
        answers: { 200: { description: 'The stock level after the restock.', body: restockAnswer } },
        problems: { 404: ['PRODUCT_NOT_FOUND'], 409: ['CONCURRENT_UPDATE'], 422: ['INVALID_QUANTITY'] },
      },
    },
  ],
};
