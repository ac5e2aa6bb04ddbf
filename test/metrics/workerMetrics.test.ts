import type { AddressInfo } from 'node:net';
import { serveMetrics } from '../../src/metrics';

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
