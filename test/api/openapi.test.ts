import { readdirSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import express, { type Router } from 'express';
import { createApp } from '../../src/api/app';
import { ApiError, PROBLEM_TITLES, problemHandler } from '../../src/api/problem';
import { createLogger } from '../../src/logger';
import { ADMIN, createProduct, customer, expectProblem, TEST_AUTH_SECRET, testEnv, uniqueId, useTestApi } from '../support/harness';
import { Contract } from '../support/contract';
import { sampleAddress } from '../support/orders';

/*
 * The contract at GET /openapi.json against the app that serves it: every express route is in it
 * and every path in it is routed, it is well-formed OpenAPI 3.1 with valid JSON Schema 2020-12, and
 * real answers (successes and problems) match what it says.
 */

type Json = Record<string, any>;

const fixture = useTestApi();
let spec: Json;
let contract: Contract;
const compile = (schema: unknown) => contract.compile(schema);

beforeAll(async () => {
  const res = await fixture.rawCall('GET', '/openapi.json', { as: 'anonymous' });
  expect(res.status).toBe(200);
  spec = res.body;
  contract = new Contract(spec);
});

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

function operations(): Array<{ key: string; operation: Json }> {
  return Object.entries(spec.paths as Json).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((m) => ({ key: `${m.toUpperCase()} ${path}`, operation: item[m] as Json })),
  );
}

/** `METHOD /path/{param}` for every route the express app serves, read from its router stack. */
function expressRoutes(router: Router): string[] {
  interface Layer {
    route?: { path: string; methods: Record<string, boolean> };
    handle?: { stack?: Layer[] };
  }
  const walk = (stack: Layer[]): string[] =>
    stack.flatMap((layer) => {
      if (layer.route) {
        const path = layer.route.path.replace(/:(\w+)/g, '{$1}');
        return Object.keys(layer.route.methods).map((method) => `${method.toUpperCase()} ${path}`);
      }
      return layer.handle?.stack ? walk(layer.handle.stack) : [];
    });
  return walk((router as unknown as { stack: Layer[] }).stack);
}

function schemasOf(operation: Json): unknown[] {
  return [
    ...(operation.parameters ?? []).map((p: Json) => p.schema),
    ...Object.values(operation.requestBody?.content ?? {}).map((c: any) => c.schema),
    ...Object.values(operation.responses as Json).flatMap((r: Json) => [
      ...Object.values(r.content ?? {}).map((c: any) => c.schema),
      ...Object.values(r.headers ?? {}).map((h: any) => h.schema),
    ]),
  ];
}

describe('the document', () => {
  test('is served without a token, as OpenAPI 3.1 with a bearer scheme and unique operation ids', () => {
    expect(spec.openapi).toMatch(/^3\.1\.\d+$/);
    expect(spec.info).toEqual(expect.objectContaining({ title: expect.any(String), version: expect.any(String) }));
    expect(spec.components.securitySchemes.bearerAuth).toEqual(expect.objectContaining({ type: 'http', scheme: 'bearer' }));
    const ids = operations().map(({ operation }) => operation.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  test('every operation is well formed and each of its schemas is valid JSON Schema 2020-12', () => {
    for (const { key, operation } of operations()) {
      expect({ key, responses: Object.keys(operation.responses).length > 0, summary: typeof operation.summary }).toEqual({
        key,
        responses: true,
        summary: 'string',
      });
      for (const [status, response] of Object.entries(operation.responses as Json)) {
        expect({ key, status, valid: /^[1-5]\d\d$/.test(status), description: typeof response.description }).toEqual({
          key,
          status,
          valid: true,
          description: 'string',
        });
      }
      const pathParams = [...key.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      const declared = (operation.parameters as Json[])
        .filter((p) => p.in === 'path')
        .map((p) => p.name)
        .sort();
      expect({ key, declared }).toEqual({ key, declared: pathParams });
      for (const schema of schemasOf(operation)) expect(() => compile(schema)).not.toThrow();
    }
  });

  test('every 2xx JSON answer has a shape: its fields, or the variants it is one of, not a bare object', () => {
    const shaped = (schema: Json): boolean =>
      schema.properties !== undefined || [schema.anyOf, schema.oneOf].some((variants: Json[] | undefined) => variants !== undefined && variants.every(shaped));
    const bare = operations().flatMap(({ key, operation }) =>
      Object.entries(operation.responses as Json)
        .filter(([status, response]) => /^2/.test(status) && response.content?.['application/json'])
        .filter(([, response]) => !shaped(response.content['application/json'].schema))
        .map(([status]) => `${key} ${status}`),
    );
    expect(bare).toEqual([]);
  });

  test('every express route is in the contract, and every path in the contract is routed', () => {
    const app = createApp({
      db: fixture.pool,
      client: fixture.client,
      namespace: 'default',
      actors: { taskQueue: testEnv.taskQueue, cartTtlMs: 60_000, historyLimit: 2000 },
      logger: createLogger('silent'),
      auth: { secret: TEST_AUTH_SECRET, rateLimit: { perSecond: 1, burst: 1 } },
      readModelChanges: { subscribe: () => () => undefined },
    });
    const routed = expressRoutes(app.router).sort();
    expect(routed.length).toBeGreaterThan(20);
    expect(
      operations()
        .map(({ key }) => key)
        .sort(),
    ).toEqual(routed);
  });

  test('every problem code has its own type URI and title, and some route answers with it', () => {
    const types = spec['x-problem-types'] as Record<string, { type: string; title: string }>;
    expect(Object.keys(types).sort()).toEqual(Object.keys(PROBLEM_TITLES).sort());
    expect(new Set(Object.values(types).map((t) => t.type)).size).toBe(Object.keys(types).length);
    const answered = new Set(
      operations().flatMap(({ operation }) =>
        Object.values(operation.responses as Json).flatMap((r: Json) => r.content?.['application/problem+json']?.schema.allOf[1].properties.code.enum ?? []),
      ),
    );
    const unanswered = Object.keys(PROBLEM_TITLES).filter((code) => !answered.has(code));
    expect(unanswered).toEqual([]);
  });
});

test('every code the API files throw is in the catalog, so it has a type URI and the contract can name it', () => {
  const api = path.join(__dirname, '..', '..', 'src', 'api');
  const thrown = readdirSync(api)
    .filter((f) => f.endsWith('.ts'))
    .flatMap((f) => [...readFileSync(path.join(api, f), 'utf8').matchAll(/ApiError\(\s*\d+,\s*'(\w+)'|code: '(\w+)'/g)].map((m) => m[1] ?? m[2]!));
  expect(thrown.length).toBeGreaterThan(30);
  expect([...new Set(thrown)].filter((code) => !Object.hasOwn(PROBLEM_TITLES, code))).toEqual([]);
});

/** The answer is one the contract documents for this operation: its status, media type, body and headers. */
function expectInContract(method: string, template: string, res: { status: number; headers: Headers; body: unknown }): void {
  const url = template.replace(/\{\w+\}/g, 'x');
  expect(contract.operationOf(method, url)?.key).toBe(`${method} ${template}`);
  expect(contract.violationsOf({ method, url, ...res })).toEqual([]);
}

describe('answers match the contract', () => {
  const { rawCall } = fixture;
  const owner = customer(uniqueId('openapi-customer'));

  test('an order through its command routes, reads, and refusals', async () => {
    const productId = await createProduct(fixture.pool, 'Contract mug', 900);
    const check = async (method: string, template: string, path: string, options?: Parameters<typeof rawCall>[2]) => {
      const res = await rawCall(method, path, { as: owner, ...options });
      expectInContract(method, template, res);
      return res;
    };

    expect((await check('POST', '/products/{productId}/stock', `/products/${productId}/stock`, { as: ADMIN, body: { quantity: 10 } })).status).toBe(200);
    expect((await check('POST', '/accounts/{customerId}/deposits', `/accounts/${owner.sub}/deposits`, { body: { amountCents: 10_000 } })).status).toBe(200);
    const created = await check('POST', '/orders', '/orders', { body: {}, headers: { 'Idempotency-Key': uniqueId('create') } });
    expect(created.status).toBe(201);
    const orderId = created.body.orderId as string;
    const orderPath = `/orders/${orderId}`;
    expect((await check('PUT', '/orders/{orderId}/shipping-address', `${orderPath}/shipping-address`, { body: sampleAddress })).status).toBe(200);
    const addItem = uniqueId('add-item');
    const added = await check('POST', '/orders/{orderId}/items', `${orderPath}/items`, {
      body: { productId, quantity: 2 },
      headers: { 'Idempotency-Key': addItem },
    });
    expect(added.status).toBe(200);
    expect((await check('GET', '/orders/{orderId}/commands/{commandId}', `${orderPath}/commands/${addItem}`)).status).toBe(200);
    const queued = await check('PATCH', '/orders/{orderId}/items/{productId}', `${orderPath}/items/${productId}`, {
      body: { quantity: 3 },
      headers: { Prefer: 'respond-async' },
    });
    expect(queued.status).toBe(202);
    expect((await check('GET', '/orders/{orderId}', `${orderPath}?consistency=strong`)).status).toBe(200);
    expect((await check('GET', '/orders/{orderId}/events', `${orderPath}/events`)).status).toBe(200);

    expectProblem(
      await check('POST', '/orders/{orderId}/items', `${orderPath}/items`, { body: { productId, quantity: 1 }, headers: { 'If-Match': '"1"' } }),
      412,
      'VERSION_MISMATCH',
    );
    expectProblem(await check('POST', '/orders/{orderId}/items', `${orderPath}/items`, { body: { productId, quantity: 'two' } }), 400, 'VALIDATION_FAILED');
    expectProblem(await check('POST', '/orders/{orderId}/items', `${orderPath}/items`, { body: { productId, quantity: 0 } }), 422, 'INVALID_QUANTITY');
    expectProblem(await check('GET', '/orders/{orderId}/state', `${orderPath}/state?version=999`), 404, 'VERSION_NOT_FOUND');
    expectProblem(
      await check('POST', '/orders/{orderId}/checkout', `${orderPath}/checkout`, { rawBody: 'x', headers: { 'content-type': 'text/plain' } }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
    expectProblem(await check('POST', '/orders', '/orders', { as: 'anonymous', body: {} }), 401, 'UNAUTHENTICATED');
    expect((await check('POST', '/orders/{orderId}/checkout', `${orderPath}/checkout`, { body: {} })).status).toBe(202);
    const late = await check('POST', '/orders/{orderId}/items', `${orderPath}/items`, { body: { productId, quantity: 1 } });
    expect(late.status).toBe(409); // placed: the cart takes no more items
    expectProblem(await check('POST', '/products', '/products', { body: { name: 'x', priceCents: 1 } }), 403, 'FORBIDDEN');
  });

  test('open routes and the catalog', async () => {
    expectInContract('GET', '/healthz', await rawCall('GET', '/healthz', { as: 'anonymous' }));
    expectInContract('GET', '/products', await rawCall('GET', '/products', { as: 'anonymous' }));
    const missing = await rawCall('GET', `/products/${uniqueId('none')}`, { as: 'anonymous' });
    expectProblem(missing, 404, 'PRODUCT_NOT_FOUND');
    expectInContract('GET', '/products/{productId}', missing);
  });
});

test('a code outside the catalog is still a problem: about:blank, titled with the status phrase (RFC 9457 §4.2.1)', async () => {
  const app = express();
  app.get('/', () => {
    throw new ApiError(418, 'NOT_IN_THE_CATALOG', 'A new rule.');
  });
  app.use(problemHandler(createLogger('silent')));
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    expect(await res.json()).toEqual({ type: 'about:blank', title: "I'm a Teapot", status: 418, code: 'NOT_IN_THE_CATALOG', detail: 'A new rule.' });
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

describe('the /docs page', () => {
  test('is HTML that loads only files of this server, and each of them is served', async () => {
    const page = await fetch(`${fixture.api.baseUrl}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThanOrEqual(3);
    expect(refs.filter((ref) => !ref.startsWith('/docs/'))).toEqual([]); // no CDN, no other origin
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    for (const ref of refs) {
      const asset = await fetch(`${fixture.api.baseUrl}${ref}`);
      expect({ ref, status: asset.status, size: (await asset.arrayBuffer()).byteLength > 0 }).toEqual({ ref, status: 200, size: true });
    }
    const init = await (await fetch(`${fixture.api.baseUrl}/docs/init.js`)).text();
    expect(init).toContain("'/openapi.json'");
  });

  test('serves no other file of the package', async () => {
    for (const name of ['index.html', 'swagger-initializer.js', 'package.json', '..%2Fpackage.json']) {
      expectProblem(await fixture.rawCall('GET', `/docs/${name}`, { as: 'anonymous' }), 404, 'ROUTE_NOT_FOUND');
    }
  });
});

test('the contract check finds an answer outside the contract', () => {
  const problem = { type: 'about:blank', title: 'Not Found', status: 404, code: 'ROUTE_NOT_FOUND', detail: 'x' };
  const json = new Headers({ 'content-type': 'application/json' });
  expect(contract.violationsOf({ method: 'GET', url: '/healthz', status: 200, headers: json, body: { status: 'ok' } })).toEqual([]);
  expect(contract.violationsOf({ method: 'GET', url: '/healthz', status: 200, headers: json, body: { status: 'fine' } })).toHaveLength(1);
  expect(contract.violationsOf({ method: 'GET', url: '/healthz', status: 418, headers: json, body: {} })).toHaveLength(1);
  expect(
    contract.violationsOf({ method: 'GET', url: '/healthz', status: 200, headers: new Headers({ 'content-type': 'text/plain' }), body: 'ok' }),
  ).toHaveLength(1);
  const problemJson = new Headers({ 'content-type': 'application/problem+json' });
  expect(contract.violationsOf({ method: 'GET', url: '/nowhere', status: 404, headers: problemJson, body: problem })).toHaveLength(1); // about:blank is not the catalog's type
});
