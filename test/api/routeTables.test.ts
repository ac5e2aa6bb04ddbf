import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { accountRoutes } from '../../src/api/accounts';
import { adminRoutes } from '../../src/api/admin';
import { healthRoutes } from '../../src/api/health';
import { inventoryRoutes } from '../../src/api/inventory';
import { orderRoutes } from '../../src/api/orders';
import { productRoutes } from '../../src/api/products';
import type { RouteTable } from '../../src/api/routes';

/*
 * The HTTP API read as a whole: its route tables, and what its files may touch. Reads sources and
 * tables only; nothing is served.
 */

const API = path.join(__dirname, '..', '..', 'src', 'api');
const sources = new Map(
  readdirSync(API)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => [f, readFileSync(path.join(API, f), 'utf8')]),
);
const routerFiles = [...sources].filter(([, source]) => /export const \w+: RouteTable</.test(source)).map(([file]) => file);

test('no file of the API reads the events table: the event store reads it, in the events’ current schema', () => {
  const readers = [...sources].filter(([, source]) => /\b(FROM|JOIN)\s+events\b/i.test(source)).map(([file]) => file);
  expect(readers).toEqual([]);
});

test('routers send no SQL (the readiness probe aside): the read models, the event store and the application do', () => {
  expect(routerFiles.length).toBeGreaterThan(0);
  const querying = routerFiles.filter((file) =>
    sources
      .get(file)!
      .replace("db.query('SELECT 1')", '')
      .match(/\.query(<[^>]*>)?\(/),
  );
  expect(querying).toEqual([]);
});

test('no router imports another router; what they share lives in the kit files', () => {
  const imports = routerFiles.flatMap((file) =>
    [...sources.get(file)!.matchAll(/from '\.\/(\w+)'/g)].filter((m) => routerFiles.includes(`${m[1]}.ts`)).map((m) => `${file} imports ${m[1]}`),
  );
  expect(imports).toEqual([]);
});

test('every route is behind a guard but the probes and the catalog reads', () => {
  const tables: Array<RouteTable<never>> = [healthRoutes, orderRoutes, productRoutes, inventoryRoutes, accountRoutes, adminRoutes];
  const open = tables.flatMap((table) =>
    table.routes
      .filter((route) => !route.guard && !table.guard?.paths.some((prefix) => route.path.startsWith(`${prefix}/`) || route.path === prefix))
      .map((route) => `${route.method.toUpperCase()} ${route.path}`),
  );
  expect(open.sort()).toEqual(['GET /healthz', 'GET /products', 'GET /products/:productId', 'GET /readyz']);
});
