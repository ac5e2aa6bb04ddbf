import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { apiClient } from '../../src/client';
import { ADMIN, customer, tokenFor, uniqueId, useTestApi } from '../support/harness';
import { sampleAddress } from '../support/orders';

/*
 * The typed client (src/client): its types are generated from the contract and cannot drift from
 * it, and it speaks to the real API as the contract says.
 */

const fixture = useTestApi();

const ROOT = path.join(__dirname, '..', '..');

test('the committed client types are what `npm run client:generate` writes from the contract now', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/generate-client.ts', '--stdout'], {
    cwd: ROOT,
    maxBuffer: 16 * 1024 * 1024,
  });
  // On a mismatch: run `npm run client:generate` and commit src/client/schema.gen.ts.
  expect(stdout).toBe(readFileSync(path.join(ROOT, 'src', 'client', 'schema.gen.ts'), 'utf8'));
});

test('typed calls: an order created and refused, with bodies and problem codes as the contract types them', async () => {
  const owner = customer(uniqueId('client-customer'));
  const api = apiClient(fixture.api.baseUrl, { headers: { authorization: `Bearer ${await tokenFor(owner)}` } });

  const health = await api.GET('/healthz');
  expect(health.data?.status).toBe('ok');

  const created = await api.POST('/orders', { body: { shippingAddress: sampleAddress }, params: { header: { 'Idempotency-Key': uniqueId('create') } } });
  expect(created.response.status).toBe(201);
  const orderId = created.data!.orderId;
  expect(created.response.headers.get('location')).toBe(`/orders/${orderId}`);

  const refused = await api.POST('/orders/{orderId}/items', { params: { path: { orderId } }, body: { productId: uniqueId('no-such-product'), quantity: 0 } });
  expect({ status: refused.response.status, code: refused.error?.code }).toEqual({ status: 422, code: 'INVALID_QUANTITY' });

  const asAdmin = apiClient(fixture.api.baseUrl, { headers: { authorization: `Bearer ${await tokenFor(ADMIN)}` } });
  const events = await asAdmin.GET('/orders/{orderId}/events', { params: { path: { orderId } } });
  expect(events.response.status).toBe(200);
});
