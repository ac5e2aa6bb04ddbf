import type { Client } from '@temporalio/client';
import fc from 'fast-check';
import { accountRoutes } from '../../src/api/accounts';
import { adminRoutes } from '../../src/api/admin';
import { docsRoutes } from '../../src/api/docs';
import { healthRoutes } from '../../src/api/health';
import { inventoryRoutes } from '../../src/api/inventory';
import { contractRoutes } from '../../src/api/openapi';
import { MAX_COMMANDS_IN_FLIGHT_PER_ORDER, OrderGateway } from '../../src/api/orderGateway';
import { orderRoutes } from '../../src/api/orders';
import { productRoutes } from '../../src/api/products';
import { ACCOUNT_STREAM_TYPE } from '../../src/domain/account';
import type { Queryable } from '../../src/eventstore';
import { registry, UNMATCHED_ROUTE } from '../../src/metrics';
import { createProduct, customer, uniqueId, useTestApi } from '../support/harness';

const api = useTestApi();

type Series = Map<string, number>;

/** Prometheus' text format as `name{label="value",...}` → value, labels in the order the registry writes them. */
function parseMetrics(text: string): Series {
  const series: Series = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    series.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return series;
}

async function scrape(): Promise<{ series: Series; text: string }> {
  const res = await fetch(`${api.api.baseUrl}/metrics`); // no token: operators' scrapers carry none
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain;.*version=0\.0\.4/);
  const text = await res.text();
  return { series: parseMetrics(text), text };
}

const moved = (before: Series, after: Series, key: string) => (after.get(key) ?? 0) - (before.get(key) ?? 0);

test('after some commands, /metrics shows requests by route template, commands by type and code, appends and projection lag', async () => {
  const mug = await createProduct(api.pool, 'Mug', 1250);
  const orderId = uniqueId('metrics');
  const customerId = uniqueId('metrics-cust');
  const { series: before } = await scrape();

  expect((await api.admin.POST('/orders', { body: { orderId, customerId } })).response.status).toBe(201);
  expect((await api.admin.POST('/orders/{orderId}/items', { params: { path: { orderId } }, body: { productId: mug, quantity: 1 } })).response.status).toBe(200);
  expect((await api.admin.POST('/orders/{orderId}/ship', { params: { path: { orderId } } })).error?.code).toBe('ORDER_NOT_CONFIRMED');
  expect(
    (await api.as(customer(customerId)).POST('/accounts/{customerId}/deposits', { params: { path: { customerId } }, body: { amountCents: 100 } })).response
      .status,
  ).toBe(200);
  expect(
    (await api.as(customer(customerId)).POST('/accounts/{customerId}/withdrawals', { params: { path: { customerId } }, body: { amountCents: 500 } })).error
      ?.code,
  ).toBe('INSUFFICIENT_FUNDS');
  expect((await api.rawCall('GET', `/no-such-route/${orderId}`)).status).toBe(404);

  const { series: after, text } = await scrape();
  const change = (key: string) => moved(before, after, key);
  expect(change('order_actors_http_requests_total{route="/orders/:orderId/items",method="POST",status="200"}')).toBe(1);
  expect(change('order_actors_http_requests_total{route="/orders/:orderId/ship",method="POST",status="409"}')).toBe(1);
  expect(change(`order_actors_http_requests_total{route="${UNMATCHED_ROUTE}",method="GET",status="404"}`)).toBe(1);
  expect(change('order_actors_http_request_duration_seconds_count{route="/orders",method="POST"}')).toBe(1);
  expect(change('order_actors_commands_total{command="CreateOrder",outcome="accepted",code=""}')).toBe(1);
  expect(change('order_actors_commands_total{command="AddItem",outcome="accepted",code=""}')).toBe(1);
  expect(change('order_actors_commands_total{command="MarkShipped",outcome="rejected",code="ORDER_NOT_CONFIRMED"}')).toBe(1);
  expect(change('order_actors_commands_total{command="Deposit",outcome="accepted",code=""}')).toBe(1);
  expect(change('order_actors_commands_total{command="Withdraw",outcome="rejected",code="INSUFFICIENT_FUNDS"}')).toBe(1);
  expect(change(`order_actors_event_store_appends_total{stream_type="${ACCOUNT_STREAM_TYPE}",outcome="appended"}`)).toBe(1);
  expect(change(`order_actors_event_store_append_duration_seconds_count{stream_type="${ACCOUNT_STREAM_TYPE}"}`)).toBe(1);
  // Read at scrape time from Postgres, for every projection the API reports on.
  for (const name of ['order_summary', 'account_summary']) {
    expect(after.get(`order_actors_projection_lag_events{projection="${name}"}`)).toBeGreaterThanOrEqual(0);
    expect(after.get(`order_actors_projection_lag_seconds{projection="${name}"}`)).toBeGreaterThanOrEqual(0);
    expect(after.get(`order_actors_projection_dead_letters{projection="${name}"}`)).toBeGreaterThanOrEqual(0);
  }
  // Ids never become label values.
  expect(text).not.toContain(orderId);
  expect(text).not.toContain(customerId);
  expect(text).not.toContain(mug);
});

test('a command past the per-order in-flight bound is counted as refused for load, not as decided', async () => {
  // An actor that never answers: the first MAX_COMMANDS_IN_FLIGHT_PER_ORDER commands stay in flight.
  const silentActor = { executeUpdate: () => new Promise(() => undefined) };
  const client = { workflow: { getHandle: () => silentActor }, withDeadline: (_deadline: number, call: () => unknown) => call() } as unknown as Client;
  const gateway = new OrderGateway(client, { taskQueue: 'unused', cartTtlMs: 1, historyLimit: 20 }, {} as Queryable);
  const refused = () => registry.getSingleMetric('order_actors_commands_refused_for_load_total')!.get();
  const countOf = async () => (await refused()).values.find((v) => v.labels.command === 'AddItem')?.value ?? 0;
  const before = await countOf();
  for (let i = 0; i < MAX_COMMANDS_IN_FLIGHT_PER_ORDER; i++) void gateway.send('busy-order', 'AddItem', { productId: 'p', quantity: 1 }, `key-${i}`);
  await expect(gateway.send('busy-order', 'AddItem', { productId: 'p', quantity: 1 }, 'one-too-many')).rejects.toMatchObject({
    status: 429,
    code: 'TOO_MANY_REQUESTS',
  });
  expect((await countOf()) - before).toBe(1);
});

/** Every route template the API's tables define, and /metrics: the only route label values there may be, besides `unmatched`. */
const TEMPLATES = new Set([
  ...[healthRoutes, contractRoutes, docsRoutes, orderRoutes, productRoutes, inventoryRoutes, accountRoutes, adminRoutes].flatMap((table) =>
    table.routes.map((r) => r.path),
  ),
  '/metrics',
  UNMATCHED_ROUTE,
]);
const METHOD_LABELS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'OTHER']);

async function labelValues(metric: string, label: string): Promise<Set<string>> {
  const { values } = await registry.getSingleMetric(metric)!.get();
  return new Set(values.map((v) => String(v.labels[label])));
}

test('requests with arbitrary ids and paths never add route, method or status label values beyond a fixed set', async () => {
  const id = fc.string({ minLength: 1, maxLength: 40 }).map(encodeURIComponent);
  const request = fc.oneof(
    // Known routes with arbitrary ids: counted under their template.
    fc.record({ method: fc.constant('GET'), path: id.map((x) => `/orders/${x}`) }),
    fc.record({ method: fc.constant('GET'), path: id.map((x) => `/accounts/${x}/events`) }),
    fc.record({ method: fc.constantFrom('POST', 'DELETE'), path: fc.tuple(id, id).map(([o, p]) => `/orders/${o}/items/${p}`) }),
    // Anything else, with any method a client may send: `unmatched`, OTHER.
    fc.record({ method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'PROPFIND', 'PURGE'), path: fc.webPath() }),
  );
  const seen: string[] = [];
  await fc.assert(
    fc.asyncProperty(request, async ({ method, path }) => {
      seen.push(path);
      const res = await fetch(`${api.api.baseUrl}${path.startsWith('/') ? path : `/${path}`}`, { method });
      await res.arrayBuffer();
      for (const route of await labelValues('order_actors_http_requests_total', 'route')) expect(TEMPLATES).toContain(route);
      for (const method of await labelValues('order_actors_http_requests_total', 'method')) expect(METHOD_LABELS).toContain(method);
      for (const status of await labelValues('order_actors_http_requests_total', 'status')) expect(status).toMatch(/^[1-5]\d\d$/);
    }),
    { numRuns: 60, seed: 15 },
  );
  // And nothing a request carried reached any metric's labels.
  const text = await registry.metrics();
  const labelText = text
    .split('\n')
    .filter((line) => line.includes('{'))
    .map((line) => line.slice(line.indexOf('{'), line.lastIndexOf('}') + 1))
    .join('\n');
  for (const path of seen.filter((p) => p.length > 8)) expect(labelText).not.toContain(path);
});
