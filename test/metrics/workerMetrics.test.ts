import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sdkMetricsFrom, serveMetrics } from '../../src/metrics';

test("the worker's metrics server answers GET /metrics with the registry, and nothing else", async () => {
  const server = await serveMetrics(0, '127.0.0.1');
  try {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await res.text()).toMatch(/^order_actors_process_cpu_user_seconds_total \d/m);
    expect((await fetch(`${base}/`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(404);
  } finally {
    server.close();
  }
});

test("the worker's /metrics appends the Temporal SDK's exposition text when given it, and leaves it out when it cannot be read", async () => {
  const sdk = '# TYPE order_actors_temporal_worker_task_slots_available gauge\norder_actors_temporal_worker_task_slots_available 5\n';
  for (const [alsoServe, expected] of [
    [() => Promise.resolve(sdk), true],
    [() => Promise.reject(new Error('SDK exporter down')), false],
  ] as const) {
    const server = await serveMetrics(0, '127.0.0.1', alsoServe);
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`);
      const text = await res.text();
      expect({ status: res.status, own: /^order_actors_process_cpu_user_seconds_total \d/m.test(text), sdk: text.includes(sdk) }).toEqual({
        status: 200,
        own: true,
        sdk: expected,
      });
    } finally {
      server.close();
    }
  }
});

test("a Temporal SDK exporter that never answers does not hang the worker's /metrics: it answers with its own series, and the failure is reported", async () => {
  const hung = createServer(() => undefined); // takes the request, never answers
  await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
  const failures: Error[] = [];
  const sdkUrl = `http://127.0.0.1:${(hung.address() as AddressInfo).port}/metrics`;
  const server = await serveMetrics(
    0,
    '127.0.0.1',
    sdkMetricsFrom(sdkUrl, (err) => failures.push(err), 200),
  );
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`);
    const text = await res.text();
    expect({ status: res.status, own: /^order_actors_process_cpu_user_seconds_total \d/m.test(text) }).toEqual({ status: 200, own: true });
    expect(failures.map((err) => err.name)).toEqual(['TimeoutError']);
  } finally {
    server.close();
    hung.closeAllConnections();
    hung.close();
  }
});

test('an SDK exporter that answers an error status is a failure too, not exposition text', async () => {
  const failing = createServer((_req, res) => res.writeHead(503).end('# not metrics'));
  await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve));
  const failures: Error[] = [];
  try {
    const read = sdkMetricsFrom(`http://127.0.0.1:${(failing.address() as AddressInfo).port}/metrics`, (err) => failures.push(err));
    expect(await read()).toBe('');
    expect(failures.map((err) => err.message)).toEqual([expect.stringMatching(/answered 503$/)]);
  } finally {
    failing.close();
  }
});
