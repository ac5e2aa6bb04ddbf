import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { signToken } from '../auth/tokens';

/** The customer whose demo order `npm start` places: the ALICE_TOKEN it prints is hers. */
const DEMO_CUSTOMER = 'alice';

/**
 * `npm start`'s demo order, so a new user's console has a story to show at once: a mug in the
 * catalog with stock, money in alice's wallet, her order for two and its checkout, all through
 * the HTTP API as a client would send them. Placed once per data folder (its id is kept there),
 * and only on the embedded Postgres that `npm start` owns, never on a configured DATABASE_URL.
 */
export async function demoOrder(options: { apiUrl: string; dataDir: string; secret: string }): Promise<string> {
  const file = path.join(options.dataDir, 'demo-order');
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const [admin, alice] = await Promise.all([
    signToken(options.secret, { sub: 'demo-setup', role: 'admin' }),
    signToken(options.secret, { sub: DEMO_CUSTOMER, role: 'customer' }),
  ]);
  const call = async (token: string, method: string, route: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${options.apiUrl}${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const answer = (await res.json()) as Record<string, unknown>;
    if (!res.ok) throw new Error(`The demo order's ${method} ${route} was answered ${res.status}: ${JSON.stringify(answer)}`);
    return answer;
  };
  // Every step with its own key: a start that failed halfway repeats them all, and each answers as before.
  const key = (step: string) => ({ 'idempotency-key': `demo-${step}` });
  const { productId } = (await call(admin, 'POST', '/products', { name: 'Demo mug', priceCents: 1250 }, key('product'))) as { productId: string };
  await call(admin, 'POST', `/products/${productId}/stock`, { quantity: 10 }, key('restock'));
  await call(alice, 'POST', `/accounts/${DEMO_CUSTOMER}/deposits`, { amountCents: 5000 }, key('deposit'));
  const shippingAddress = { name: 'Alice', line1: '1 Main St', city: 'Springfield', postalCode: '12345', country: 'US' };
  const { orderId } = (await call(alice, 'POST', '/orders', { shippingAddress }, key('order'))) as { orderId: string };
  await call(alice, 'POST', `/orders/${orderId}/items`, { productId, quantity: 2 }, key('add-mugs'));
  await call(alice, 'POST', `/orders/${orderId}/checkout?wait=true`, undefined, key('checkout'));
  writeFileSync(file, `${orderId}\n`);
  return orderId;
}
