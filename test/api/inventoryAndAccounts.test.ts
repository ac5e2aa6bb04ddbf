import { createStockActivities } from '../../src/activities/stockActivities';
import { createProduct, expectProblem, uniqueId, useTestApi } from '../support/harness';

const app = useTestApi();
const { call } = app;

describe('stock', () => {
  test('restock, then read the inventory: onHand, reserved, available and version', async () => {
    const productId = await createProduct(app.pool, 'Kettle', 3999);
    expect((await call('GET', `/inventory/${productId}`)).body).toEqual({ productId, onHand: 0, reserved: 0, available: 0, version: 0 });

    const first = await call('POST', `/products/${productId}/stock`, { body: { quantity: 7 } });
    expect(first).toMatchObject({ status: 200, body: { productId, onHand: 7, reserved: 0, available: 7, version: 1 } });
    expect((await call('POST', `/products/${productId}/stock`, { body: { quantity: 3 } })).body).toMatchObject({ onHand: 10, version: 2 });

    // A reservation (the saga's step) shows as reserved, not available.
    await createStockActivities(app.pool).reserveStock({ reservationId: 'r-1', productId, quantity: 4 });
    expect((await call('GET', `/inventory/${productId}`)).body).toEqual({ productId, onHand: 10, reserved: 4, available: 6, version: 3 });

    const stock = await call('GET', `/products/${productId}?minVersion=1&minStockVersion=3`);
    expect(stock.status).toBe(200);
    expect(stock.body).toEqual({ productId, name: 'Kettle', description: '', priceCents: 3999, version: 1, stock: { onHand: 10, reserved: 4, available: 6 } });

    const listed = (await call('GET', '/inventory')).body.inventory.find((i: { productId: string }) => i.productId === productId);
    expect(listed).toEqual({ productId, onHand: 10, reserved: 4, available: 6, version: 3 });

    const { rows } = await app.pool.query<{ type: string }>('SELECT type FROM events WHERE stream_id = $1 ORDER BY version', [`stock-${productId}`]);
    expect(rows.map((r) => r.type)).toEqual(['StockRestocked', 'StockRestocked', 'StockReserved']);
  });

  test('restocking needs a catalog product and a whole quantity of at least 1', async () => {
    const productId = await createProduct(app.pool, 'Teapot', 2500);
    expectProblem(await call('POST', `/products/${uniqueId('nope')}/stock`, { body: { quantity: 1 } }), 404, 'PRODUCT_NOT_FOUND');
    expectProblem(await call('POST', `/products/${productId}/stock`, { body: { quantity: 0 } }), 422, 'INVALID_QUANTITY');
    expectProblem(await call('POST', `/products/${productId}/stock`, { body: { quantity: 1.5 } }), 400, 'VALIDATION_FAILED');
    expectProblem(await call('POST', `/products/${productId}/stock`, { body: { quantity: '3' } }), 400, 'VALIDATION_FAILED');
    expectProblem(await call('POST', `/products/${productId}/stock`, { body: { quantity: 3, extra: true } }), 400, 'VALIDATION_FAILED');
    expectProblem(await call('POST', `/products/${productId}/stock`, { rawBody: '{"quantity":' }), 400, 'MALFORMED_JSON');
    expectProblem(await call('POST', '/products/bad%20id/stock', { body: { quantity: 1 } }), 400, 'INVALID_ID');
    expect((await call('GET', `/inventory/${productId}`)).body).toMatchObject({ onHand: 0, version: 0 });
  });

  test('unknown products are 404 in the inventory and the catalog', async () => {
    const missing = uniqueId('missing');
    expectProblem(await call('GET', `/inventory/${missing}`), 404, 'PRODUCT_NOT_FOUND');
    expectProblem(await call('GET', `/products/${missing}`), 404, 'PRODUCT_NOT_FOUND');
  });

  test('GET /products lists the catalog, folded, each with its stock; GET /inventory has every product', async () => {
    const renamed = await createProduct(app.pool, 'Cup', 500);
    const plain = await createProduct(app.pool, 'Saucer', 300);
    expect((await call('PATCH', `/products/${renamed}`, { body: { name: 'Big cup', priceCents: 650 } })).status).toBe(200);
    await call('POST', `/products/${plain}/stock`, { body: { quantity: 2 } });

    // The list is the catalog model: wait until it has both products' changes.
    expect((await call('GET', `/products/${renamed}?minVersion=3`)).status).toBe(200);
    expect((await call('GET', `/products/${plain}?minVersion=1&minStockVersion=1`)).status).toBe(200);
    const res = await call('GET', '/products');
    expect(res.status).toBe(200);
    const byId = new Map<string, unknown>(res.body.products.map((p: { productId: string }) => [p.productId, p]));
    expect(byId.get(renamed)).toEqual({
      productId: renamed,
      name: 'Big cup',
      description: '',
      priceCents: 650,
      version: 3,
      stock: { onHand: 0, reserved: 0, available: 0 },
    });
    expect(byId.get(plain)).toMatchObject({ name: 'Saucer', priceCents: 300, version: 1, stock: { onHand: 2, reserved: 0, available: 2 } });

    const inventory = new Map<string, unknown>((await call('GET', '/inventory')).body.inventory.map((i: { productId: string }) => [i.productId, i]));
    expect(inventory.get(renamed)).toEqual({ productId: renamed, onHand: 0, reserved: 0, available: 0, version: 0 });
    expect(inventory.get(plain)).toEqual({ productId: plain, onHand: 2, reserved: 0, available: 2, version: 1 });
  });
});

describe('accounts', () => {
  test('deposits and withdrawals move the balance; the account tells totals and transactions', async () => {
    const customerId = uniqueId('cust');
    const first = await call('POST', `/accounts/${customerId}/deposits`, { body: { amountCents: 5000 } });
    expect(first).toMatchObject({ status: 200 });
    expect(first.body).toEqual({ customerId, balanceCents: 5000, totalDepositsCents: 5000, totalWithdrawalsCents: 0, transactionCount: 1, version: 2 });
    expect((await call('POST', `/accounts/${customerId}/deposits`, { body: { amountCents: 250 } })).body).toMatchObject({ balanceCents: 5250, version: 3 });
    const withdrawal = await call('POST', `/accounts/${customerId}/withdrawals`, { body: { amountCents: 1250 } });
    expect(withdrawal.body).toEqual({ customerId, balanceCents: 4000, totalDepositsCents: 5250, totalWithdrawalsCents: 1250, transactionCount: 3, version: 4 });

    expect((await call('GET', `/accounts/${customerId}?minVersion=4`)).body).toEqual(withdrawal.body);
    const events = await call('GET', `/accounts/${customerId}/events`);
    expect(events.body).toMatchObject({ customerId, version: 4 });
    expect(events.body.events.map((e: { type: string; version: number }) => [e.version, e.type])).toEqual([
      [1, 'AccountOpened'],
      [2, 'FundsDeposited'],
      [3, 'FundsDeposited'],
      [4, 'FundsWithdrawn'],
    ]);
    expect(events.body.events[0]).toMatchObject({ streamId: `account-${customerId}`, streamType: 'account', data: { customerId } });
  });

  test('a withdrawal beyond the balance is 422 INSUFFICIENT_FUNDS and changes nothing', async () => {
    const customerId = uniqueId('cust');
    await call('POST', `/accounts/${customerId}/deposits`, { body: { amountCents: 100 } });
    expectProblem(await call('POST', `/accounts/${customerId}/withdrawals`, { body: { amountCents: 101 } }), 422, 'INSUFFICIENT_FUNDS');
    expect((await call('POST', `/accounts/${customerId}/withdrawals`, { body: { amountCents: 100 } })).body).toMatchObject({ balanceCents: 0 });
    expectProblem(await call('POST', `/accounts/${customerId}/withdrawals`, { body: { amountCents: 1 } }), 422, 'INSUFFICIENT_FUNDS');
    // Withdrawing from an account that was never funded: nothing to take, and no account is opened.
    const stranger = uniqueId('cust');
    expectProblem(await call('POST', `/accounts/${stranger}/withdrawals`, { body: { amountCents: 1 } }), 422, 'INSUFFICIENT_FUNDS');
    expectProblem(await call('GET', `/accounts/${stranger}`), 404, 'ACCOUNT_NOT_FOUND');
    expect((await call('GET', `/accounts/${customerId}?minVersion=3`)).body).toMatchObject({ balanceCents: 0, transactionCount: 2, version: 3 });
  });

  test('malformed input is 400, out-of-range amounts are 422 INVALID_AMOUNT, and nothing is written', async () => {
    const customerId = uniqueId('cust');
    const deposit = (body: unknown) => call('POST', `/accounts/${customerId}/deposits`, { body });
    for (const body of [
      {},
      { amountCents: '100' },
      { amountCents: 10.5 },
      { amountCents: 100, currency: 'EUR' },
      { amountCents: null },
      [100],
      { amountCents: 2 ** 53 },
    ]) {
      expectProblem(await deposit(body), 400, 'VALIDATION_FAILED');
    }
    expectProblem(await call('POST', `/accounts/${customerId}/deposits`, { rawBody: 'amountCents=100' }), 400, 'MALFORMED_JSON');
    expectProblem(await deposit({ amountCents: 0 }), 422, 'INVALID_AMOUNT');
    expectProblem(await deposit({ amountCents: -5 }), 422, 'INVALID_AMOUNT');
    expectProblem(await deposit({ amountCents: 1_000_000_001 }), 422, 'INVALID_AMOUNT');
    expectProblem(await call('POST', `/accounts/${customerId}/withdrawals`, { body: { amountCents: 'all' } }), 400, 'VALIDATION_FAILED');
    expectProblem(await call('POST', '/accounts/no%20spaces/deposits', { body: { amountCents: 1 } }), 400, 'INVALID_ID');
    expectProblem(await call('GET', `/accounts/${customerId}`), 404, 'ACCOUNT_NOT_FOUND');
    expect((await deposit({ amountCents: 1_000_000_000 })).body).toMatchObject({ balanceCents: 1_000_000_000, version: 2 });
  });

  test('unknown accounts are 404 ACCOUNT_NOT_FOUND', async () => {
    const customerId = uniqueId('cust');
    expectProblem(await call('GET', `/accounts/${customerId}`), 404, 'ACCOUNT_NOT_FOUND');
    expectProblem(await call('GET', `/accounts/${customerId}/events`), 404, 'ACCOUNT_NOT_FOUND');
  });

  test('concurrent deposits on one account all count', async () => {
    const customerId = uniqueId('cust');
    const answers = await Promise.all(Array.from({ length: 10 }, () => call('POST', `/accounts/${customerId}/deposits`, { body: { amountCents: 100 } })));
    expect(answers.map((a) => a.status)).toEqual(Array<number>(10).fill(200));
    expect((await call('GET', `/accounts/${customerId}?minVersion=11`)).body).toMatchObject({ balanceCents: 1000, transactionCount: 10, version: 11 });
  });
});
