import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import { z } from 'zod';
import { DomainError } from '../domain/decider';
import { productDecider, productStreamId, type ProductCommand, type ProductState } from '../domain/product';
import { foldRecorded, handleCommand, readStream, type Queryable } from '../eventstore';
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

const STATUS_BY_KIND = { conflict: 409, rule: 422, not_found: 404, precondition: 412 } as const;

export function apiErrorFromDomain(err: unknown): unknown {
  return err instanceof DomainError ? new ApiError(STATUS_BY_KIND[err.kind], err.code, err.message) : err;
}

function productView(state: ProductState, version: number) {
  const { exists: _exists, ...product } = state;
  return { ...product, version };
}

/** The catalog: products are event-sourced in Postgres through the generic command handler. */
export function productsRouter(db: Queryable): Router {
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
    const events = await readStream(db, productStreamId(pathId(req, 'productId')));
    const state = foldRecorded(productDecider, events);
    if (!state.exists) throw new ApiError(404, 'PRODUCT_NOT_FOUND', 'There is no such product.');
    res.json(productView(state, events.length));
  });

  return router;
}
