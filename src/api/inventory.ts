import { z } from 'zod';
import { findProduct } from '../application/catalog';
import type { Queryable } from '../eventstore';
import { readAllStock, readStock } from '../projections/inventory';
import { adminOnly } from './access';
import { stockLevelAnswer } from './answers';
import { ApiError } from './problem';
import { pathId } from './requestContext';
import type { Handler, RouteTable } from './routes';

/** A product's stock level (`readStock`), with the stock stream's version (0: never stocked). */
const productStockAnswer = stockLevelAnswer.extend({ productId: z.string(), version: z.number().int().min(0) });

export interface InventoryRouteDeps {
  db: Queryable;
}

const allStock: Handler<InventoryRouteDeps> = async (_req, res, { db }) => {
  res.json({ inventory: await readAllStock(db) });
};

const productStock: Handler<InventoryRouteDeps> = async (req, res, { db }) => {
  const productId = pathId(req, 'productId');
  const stock = await readStock(db, productId);
  if (stock.version === 0 && !(await findProduct(db, productId))) throw new ApiError(404, 'PRODUCT_NOT_FOUND', 'There is no such product.');
  res.json({ productId, ...stock });
};

/** Read-only stock levels, for admins; restocking is `POST /products/:id/stock`. */
export const inventoryRoutes: RouteTable<InventoryRouteDeps> = {
  guard: { paths: ['/inventory'], by: adminOnly },
  routes: [
    {
      method: 'get',
      path: '/inventory',
      handle: allStock,
      contract: {
        summary: 'Stock levels of every product.',
        answers: { 200: { description: 'Every stock level.', body: z.object({ inventory: z.array(productStockAnswer) }) } },
        problems: {},
      },
    },
    {
      method: 'get',
      path: '/inventory/:productId',
      handle: productStock,
      contract: {
        summary: "A product's stock level.",
        answers: { 200: { description: 'The stock level.', body: productStockAnswer } },
        problems: { 404: ['PRODUCT_NOT_FOUND'] },
      },
    },
  ],
};
