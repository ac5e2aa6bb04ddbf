import { Writable } from 'node:stream';
import type { Client } from '@temporalio/client';
import fc from 'fast-check';
import type { Pool } from '../../src/db/pool';
import { createLogger } from '../../src/logger';
import { tokenFor, ADMIN, testClient, testPool, type TestApi } from '../support/harness';
import { startApiWith } from './appWith';

/*
 * Request ids and the access log: every answer carries X-Request-Id (the caller's, if sane, or a
 * fresh UUID), and each request writes one log line with that id, the route template, the status
 * and the duration.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const SAFE = /^[A-Za-z0-9._:=+/-]{1,128}$/;

let client: Client;
let pool: Pool;
let api: TestApi;
const lines: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  client = await testClient();
  pool = testPool(2);
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  api = await startApiWith({ db: pool, client, logger: createLogger('info', 'orders', sink) });
});

afterAll(async () => {
  await api?.close();
  await client?.connection.close();
  await pool?.end();
});

const accessLinesOf = (requestId: string) => lines.filter((l) => l.requestId === requestId && (l.msg === 'request' || l.msg === 'request failed'));

test('one access log line per request, with the request id, route template, status and duration', async () => {
  const res = await fetch(`${api.baseUrl}/orders/some-order/events`, {
    headers: { 'X-Request-Id': 'edge-7f3a:1', authorization: `Bearer ${await tokenFor(ADMIN)}` },
  });
  await res.arrayBuffer();
  expect(res.headers.get('x-request-id')).toBe('edge-7f3a:1');
  const [line, ...more] = accessLinesOf('edge-7f3a:1');
  expect(more).toEqual([]);
  expect(line).toEqual(
    expect.objectContaining({ level: 30, method: 'GET', route: '/orders/:orderId/events', status: res.status, durationMs: expect.any(Number) }),
  );
  expect(JSON.stringify(line)).not.toContain('Bearer'); // no headers, so no token
});

test('refusals before any route carry an id too, and are logged as unmatched', async () => {
  const res = await fetch(`${api.baseUrl}/no/such/route`, { method: 'POST' });
  await res.arrayBuffer();
  expect(res.status).toBe(404);
  const id = res.headers.get('x-request-id')!;
  expect(id).toMatch(UUID);
  expect(accessLinesOf(id)).toEqual([expect.objectContaining({ method: 'POST', route: 'unmatched', status: 404 })]);
});

test('a sent X-Request-Id is echoed exactly when it is 1 to 128 safe characters; otherwise a fresh UUID answers', async () => {
  const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 140 });
  const safe = fc.string({ unit: fc.constantFrom(...'abcXYZ0189._:=+/-'), minLength: 1, maxLength: 140 });
  await fc.assert(
    fc.asyncProperty(fc.oneof(printable, safe), async (sent) => {
      const res = await fetch(`${api.baseUrl}/healthz`, { headers: { 'X-Request-Id': sent } });
      await res.arrayBuffer();
      // fetch trims the header value as HTTP does: the server sees the trimmed one.
      const seen = sent.trim();
      const answered = res.headers.get('x-request-id')!;
      if (SAFE.test(seen)) expect(answered).toBe(seen);
      else expect(answered).toMatch(UUID);
      expect(accessLinesOf(answered)).toHaveLength(1);
    }),
    { numRuns: 60, seed: 42 },
  );
});
