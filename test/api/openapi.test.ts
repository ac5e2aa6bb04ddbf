import { readdirSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import express, { type Router } from 'express';
import { createApp } from '../../src/api/app';
import { ApiError, PROBLEM_TITLES, problemHandler } from '../../src/api/problem';
import { createLogger } from '../../src/logger';
import { createProduct, customer, expectProblem, type RawAnswer, TEST_AUTH_SECRET, testEnv, uniqueId, useTestApi } from '../support/harness';
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
  const res = await fixture.as('anonymous').GET('/openapi.json');
  expect(res.response.status).toBe(200);
  spec = res.data!;
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

/** The answer (typed, or raw for what the contract refuses) is one the contract documents for this operation: its status, media type, body and headers. */
function expectInContract(method: string, template: string, res: RawAnswer | { response: Response; data?: unknown; error?: unknown }): void {
  const url = template.replace(/\{\w+\}/g, 'x');
  const answer = 'response' in res ? { status: res.response.status, headers: res.response.headers, body: res.data ?? res.error } : res;
  expect(contract.operationOf(method, url)?.key).toBe(`${method} ${template}`);
  expect(contract.violationsOf({ method, url, ...answer })).toEqual([]);
}

describe('answers match the contract', () => {
  const owner = customer(uniqueId('openapi-customer'));

  test('an order through its command routes, reads, and refusals', async () => {
    const productId = await createProduct(fixture.pool, 'Contract mug', 900);
    const check = async <Answer extends Parameters<typeof expectInContract>[2]>(method: string, template: string, sent: Promise<Answer>) => {
      const res = await sent;
      expectInContract(method, template, res);
      return res;
    };
    const shopper = fixture.as(owner);

    const restocked = fixture.admin.POST('/products/{productId}/stock', { params: { path: { productId } }, body: { quantity: 10 } });
    expect((await check('POST', '/products/{productId}/stock', restocked)).response.status).toBe(200);
    const deposited = shopper.POST('/accounts/{customerId}/deposits', { params: { path: { customerId: owner.sub } }, body: { amountCents: 10_000 } });
    expect((await check('POST', '/accounts/{customerId}/deposits', deposited)).response.status).toBe(200);
    const created = await check('POST', '/orders', shopper.POST('/orders', { params: { header: { 'Idempotency-Key': uniqueId('create') } }, body: {} }));
    expect(created.response.status).toBe(201);
    const orderId = created.data!.orderId;
    const order = { path: { orderId } };
    const orderPath = `/orders/${orderId}`;
    const addressed = shopper.PUT('/orders/{orderId}/shipping-address', { params: order, body: sampleAddress });
    expect((await check('PUT', '/orders/{orderId}/shipping-address', addressed)).response.status).toBe(200);
    const addItem = uniqueId('add-item');
    const added = await check(
      'POST',
      '/orders/{orderId}/items',
      shopper.POST('/orders/{orderId}/items', { params: { ...order, header: { 'Idempotency-Key': addItem } }, body: { productId, quantity: 2 } }),
    );
    expect(added.response.status).toBe(200);
    const commandStatus = shopper.GET('/orders/{orderId}/commands/{commandId}', { params: { path: { orderId, commandId: addItem } } });
    expect((await check('GET', '/orders/{orderId}/commands/{commandId}', commandStatus)).response.status).toBe(200);
    const queued = await check(
      'PATCH',
      '/orders/{orderId}/items/{productId}',
      shopper.PATCH('/orders/{orderId}/items/{productId}', {
        params: { path: { orderId, productId }, header: { Prefer: 'respond-async' } },
        body: { quantity: 3 },
      }),
    );
    expect(queued.response.status).toBe(202);
    const read = shopper.GET('/orders/{orderId}', { params: { ...order, query: { consistency: 'strong' } } });
    expect((await check('GET', '/orders/{orderId}', read)).response.status).toBe(200);
    expect((await check('GET', '/orders/{orderId}/events', shopper.GET('/orders/{orderId}/events', { params: order }))).response.status).toBe(200);

    const stale = shopper.POST('/orders/{orderId}/items', { params: { ...order, header: { 'If-Match': '"1"' } }, body: { productId, quantity: 1 } });
    expectProblem(await check('POST', '/orders/{orderId}/items', stale), 412, 'VERSION_MISMATCH');
    // Refusals of what the contract itself refuses go raw: a mistyped field, a body that is not JSON, no token.
    const mistyped = fixture.rawCall('POST', `${orderPath}/items`, { as: owner, body: { productId, quantity: 'two' } });
    expectProblem(await check('POST', '/orders/{orderId}/items', mistyped), 400, 'VALIDATION_FAILED');
    const none = shopper.POST('/orders/{orderId}/items', { params: order, body: { productId, quantity: 0 } });
    expectProblem(await check('POST', '/orders/{orderId}/items', none), 422, 'INVALID_QUANTITY');
    const unknownVersion = shopper.GET('/orders/{orderId}/state', { params: { ...order, query: { version: 999 } } });
    expectProblem(await check('GET', '/orders/{orderId}/state', unknownVersion), 404, 'VERSION_NOT_FOUND');
    const notJson = fixture.rawCall('POST', `${orderPath}/checkout`, { as: owner, rawBody: 'x', headers: { 'content-type': 'text/plain' } });
    expectProblem(await check('POST', '/orders/{orderId}/checkout', notJson), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expectProblem(await check('POST', '/orders', fixture.rawCall('POST', '/orders', { as: 'anonymous', body: {} })), 401, 'UNAUTHENTICATED');
    expect((await check('POST', '/orders/{orderId}/checkout', shopper.POST('/orders/{orderId}/checkout', { params: order, body: {} }))).response.status).toBe(
      202,
    );
    const late = await check('POST', '/orders/{orderId}/items', shopper.POST('/orders/{orderId}/items', { params: order, body: { productId, quantity: 1 } }));
    expect(late.response.status).toBe(409); // placed: the cart takes no more items
    expectProblem(await check('POST', '/products', shopper.POST('/products', { body: { name: 'x', priceCents: 1 } })), 403, 'FORBIDDEN');
  });

  test('open routes and the catalog', async () => {
    const anonymous = fixture.as('anonymous');
    expectInContract('GET', '/healthz', await anonymous.GET('/healthz'));
    expectInContract('GET', '/products', await anonymous.GET('/products'));
    const missing = await anonymous.GET('/products/{productId}', { params: { path: { productId: uniqueId('none') } } });
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
