import { createStockActivities } from '../../src/activities/stockActivities';
import { createProduct, expectProblem, statusAndBody, uniqueId, useTestApi } from '../support/harness';

const app = useTestApi();
const { rawCall } = app;

describe('stock', () => {
  test('restock, then read the inventory: onHand, reserved, available and version', async () => {
    const productId = await createProduct(app.pool, 'Kettle', 3999);
    expect((await app.admin.GET('/inventory/{productId}', { params: { path: { productId } } })).data).toEqual({
      productId,
      onHand: 0,
      reserved: 0,
      available: 0,
      version: 0,
    });

    const first = await app.admin.POST('/products/{productId}/stock', { params: { path: { productId } }, body: { quantity: 7 } });
    expect(statusAndBody(first)).toMatchObject({ status: 200, body: { productId, onHand: 7, reserved: 0, available: 7, version: 1 } });
    expect((await app.admin.POST('/products/{productId}/stock', { params: { path: { productId } }, body: { quantity: 3 } })).data).toMatchObject({
      onHand: 10,
      version: 2,
    });

    // A reservation (the saga's step) shows as reserved, not available.
    await createStockActivities(app.pool).reserveStock({ reservationId: 'r-1', productId, quantity: 4 });
    expect((await app.admin.GET('/inventory/{productId}', { params: { path: { productId } } })).data).toEqual({
      productId,
      onHand: 10,
      reserved: 4,
      available: 6,
      version: 3,
    });

    const stock = await app.admin.GET('/products/{productId}', { params: { path: { productId }, query: { minVersion: 1, minStockVersion: 3 } } });
    expect(stock.response.status).toBe(200);
    expect(stock.data).toEqual({ productId, name: 'Kettle', description: '', priceCents: 3999, version: 1, stock: { onHand: 10, reserved: 4, available: 6 } });

    const listed = (await app.admin.GET('/inventory')).data!.inventory.find((i: { productId: string }) => i.productId === productId);
    expect(listed).toEqual({ productId, onHand: 10, reserved: 4, available: 6, version: 3 });

    const { rows } = await app.pool.query<{ type: string }>('SELECT type FROM events WHERE stream_id = $1 ORDER BY version', [`stock-${productId}`]);
    expect(rows.map((r) => r.type)).toEqual(['StockRestocked', 'StockRestocked', 'StockReserved']);
  });

  test('restocking needs a catalog product and a whole quantity of at least 1', async () => {
    const productId = await createProduct(app.pool, 'Teapot', 2500);
    expectProblem(
      await app.admin.POST('/products/{productId}/stock', { params: { path: { productId: uniqueId('nope') } }, body: { quantity: 1 } }),
      404,
      'PRODUCT_NOT_FOUND',
    );
    expectProblem(await app.admin.POST('/products/{productId}/stock', { params: { path: { productId } }, body: { quantity: 0 } }), 422, 'INVALID_QUANTITY');
    expectProblem(await app.admin.POST('/products/{productId}/stock', { params: { path: { productId } }, body: { quantity: 1.5 } }), 400, 'VALIDATION_FAILED');
    expectProblem(await rawCall('POST', `/products/${productId}/stock`, { body: { quantity: '3' } }), 400, 'VALIDATION_FAILED');
    expectProblem(await rawCall('POST', `/products/${productId}/stock`, { body: { quantity: 3, extra: true } }), 400, 'VALIDATION_FAILED');
    expectProblem(await rawCall('POST', `/products/${productId}/stock`, { rawBody: '{"quantity":' }), 400, 'MALFORMED_JSON');
    expectProblem(await rawCall('POST', '/products/bad%20id/stock', { body: { quantity: 1 } }), 400, 'INVALID_ID');
    expect((await app.admin.GET('/inventory/{productId}', { params: { path: { productId } } })).data).toMatchObject({ onHand: 0, version: 0 });
  });

  test('unknown products are 404 in the inventory and the catalog', async () => {
    const missing = uniqueId('missing');
    expectProblem(await app.admin.GET('/inventory/{productId}', { params: { path: { productId: missing } } }), 404, 'PRODUCT_NOT_FOUND');
    expectProblem(await app.admin.GET('/products/{productId}', { params: { path: { productId: missing } } }), 404, 'PRODUCT_NOT_FOUND');
  });

  test('GET /products lists the catalog, folded, each with its stock; GET /inventory has every product', async () => {
    const renamed = await createProduct(app.pool, 'Cup', 500);
    const plain = await createProduct(app.pool, 'Saucer', 300);
    expect(
      (await app.admin.PATCH('/products/{productId}', { params: { path: { productId: renamed } }, body: { name: 'Big cup', priceCents: 650 } })).response
        .status,
    ).toBe(200);
    await app.admin.POST('/products/{productId}/stock', { params: { path: { productId: plain } }, body: { quantity: 2 } });

    // The list is the catalog model: wait until it has both products' changes.
    expect((await app.admin.GET('/products/{productId}', { params: { path: { productId: renamed }, query: { minVersion: 3 } } })).response.status).toBe(200);
    expect(
      (await app.admin.GET('/products/{productId}', { params: { path: { productId: plain }, query: { minVersion: 1, minStockVersion: 1 } } })).response.status,
    ).toBe(200);
    const res = await app.admin.GET('/products');
    expect(res.response.status).toBe(200);
    const byId = new Map<string, unknown>(res.data!.products.map((p: { productId: string }) => [p.productId, p]));
    expect(byId.get(renamed)).toEqual({
      productId: renamed,
      name: 'Big cup',
      description: '',
      priceCents: 650,
      version: 3,
      stock: { onHand: 0, reserved: 0, available: 0 },
    });
    expect(byId.get(plain)).toMatchObject({ name: 'Saucer', priceCents: 300, version: 1, stock: { onHand: 2, reserved: 0, available: 2 } });

    const inventory = new Map<string, unknown>((await app.admin.GET('/inventory')).data!.inventory.map((i: { productId: string }) => [i.productId, i]));
    expect(inventory.get(renamed)).toEqual({ productId: renamed, onHand: 0, reserved: 0, available: 0, version: 0 });
    expect(inventory.get(plain)).toEqual({ productId: plain, onHand: 2, reserved: 0, available: 2, version: 1 });
  });
});

describe('accounts', () => {
  test('deposits and withdrawals move the balance; the account tells totals and transactions', async () => {
    const customerId = uniqueId('cust');
    const first = await app.admin.POST('/accounts/{customerId}/deposits', { params: { path: { customerId } }, body: { amountCents: 5000 } });
    expect(statusAndBody(first)).toMatchObject({ status: 200 });
    expect(first.data).toEqual({ customerId, balanceCents: 5000, totalDepositsCents: 5000, totalWithdrawalsCents: 0, transactionCount: 1, version: 2 });
    expect((await app.admin.POST('/accounts/{customerId}/deposits', { params: { path: { customerId } }, body: { amountCents: 250 } })).data).toMatchObject({
      balanceCents: 5250,
      version: 3,
    });
    const withdrawal = await app.admin.POST('/accounts/{customerId}/withdrawals', { params: { path: { customerId } }, body: { amountCents: 1250 } });
    expect(withdrawal.data).toEqual({ customerId, balanceCents: 4000, totalDepositsCents: 5250, totalWithdrawalsCents: 1250, transactionCount: 3, version: 4 });

    expect((await app.admin.GET('/accounts/{customerId}', { params: { path: { customerId }, query: { minVersion: 4 } } })).data).toEqual(withdrawal.data);
    const events = await app.admin.GET('/accounts/{customerId}/events', { params: { path: { customerId } } });
    expect(events.data).toMatchObject({ customerId, version: 4 });
    expect(events.data!.events.map((e: { type: string; version: number }) => [e.version, e.type])).toEqual([
      [1, 'AccountOpened'],
      [2, 'FundsDeposited'],
      [3, 'FundsDeposited'],
      [4, 'FundsWithdrawn'],
    ]);
    expect(events.data!.events[0]).toMatchObject({ streamId: `account-${customerId}`, streamType: 'account', data: { customerId } });
  });

  test('a withdrawal beyond the balance is 422 INSUFFICIENT_FUNDS and changes nothing', async () => {
    const customerId = uniqueId('cust');
    await app.admin.POST('/accounts/{customerId}/deposits', { params: { path: { customerId } }, body: { amountCents: 100 } });
    expectProblem(
      await app.admin.POST('/accounts/{customerId}/withdrawals', { params: { path: { customerId } }, body: { amountCents: 101 } }),
      422,
      'INSUFFICIENT_FUNDS',
    );
    expect((await app.admin.POST('/accounts/{customerId}/withdrawals', { params: { path: { customerId } }, body: { amountCents: 100 } })).data).toMatchObject({
      balanceCents: 0,
    });
    expectProblem(
      await app.admin.POST('/accounts/{customerId}/withdrawals', { params: { path: { customerId } }, body: { amountCents: 1 } }),
      422,
      'INSUFFICIENT_FUNDS',
    );
    // Withdrawing from an account that was never funded: nothing to take, and no account is opened.
    const stranger = uniqueId('cust');
    expectProblem(
      await app.admin.POST('/accounts/{customerId}/withdrawals', { params: { path: { customerId: stranger } }, body: { amountCents: 1 } }),
      422,
      'INSUFFICIENT_FUNDS',
    );
    expectProblem(await app.admin.GET('/accounts/{customerId}', { params: { path: { customerId: stranger } } }), 404, 'ACCOUNT_NOT_FOUND');
    expect((await app.admin.GET('/accounts/{customerId}', { params: { path: { customerId }, query: { minVersion: 3 } } })).data).toMatchObject({
      balanceCents: 0,
      transactionCount: 2,
      version: 3,
    });
  });

  test('malformed input is 400, out-of-range amounts are 422 INVALID_AMOUNT, and nothing is written', async () => {
    const customerId = uniqueId('cust');
    const deposit = (amountCents: number) => app.admin.POST('/accounts/{customerId}/deposits', { params: { path: { customerId } }, body: { amountCents } });
    for (const body of [
      {},
      { amountCents: '100' },
      { amountCents: 10.5 },
      { amountCents: 100, currency: 'EUR' },
      { amountCents: null },
      [100],
      { amountCents: 2 ** 53 },
    ]) {
      expectProblem(await rawCall('POST', `/accounts/${customerId}/deposits`, { body }), 400, 'VALIDATION_FAILED');
    }
    expectProblem(await rawCall('POST', `/accounts/${customerId}/deposits`, { rawBody: 'amountCents=100' }), 400, 'MALFORMED_JSON');
    expectProblem(await deposit(0), 422, 'INVALID_AMOUNT');
    expectProblem(await deposit(-5), 422, 'INVALID_AMOUNT');
    expectProblem(await deposit(1_000_000_001), 422, 'INVALID_AMOUNT');
    expectProblem(await rawCall('POST', `/accounts/${customerId}/withdrawals`, { body: { amountCents: 'all' } }), 400, 'VALIDATION_FAILED');
    expectProblem(await rawCall('POST', '/accounts/no%20spaces/deposits', { body: { amountCents: 1 } }), 400, 'INVALID_ID');
    expectProblem(await app.admin.GET('/accounts/{customerId}', { params: { path: { customerId } } }), 404, 'ACCOUNT_NOT_FOUND');
    expect((await deposit(1_000_000_000)).data).toMatchObject({ balanceCents: 1_000_000_000, version: 2 });
  });

  test('unknown accounts are 404 ACCOUNT_NOT_FOUND', async () => {
    const customerId = uniqueId('cust');
    expectProblem(await app.admin.GET('/accounts/{customerId}', { params: { path: { customerId } } }), 404, 'ACCOUNT_NOT_FOUND');
    expectProblem(await app.admin.GET('/accounts/{customerId}/events', { params: { path: { customerId } } }), 404, 'ACCOUNT_NOT_FOUND');
  });

  test('concurrent deposits on one account all count', async () => {
    const customerId = uniqueId('cust');
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => app.admin.POST('/accounts/{customerId}/deposits', { params: { path: { customerId } }, body: { amountCents: 100 } })),
    );
    expect(answers.map((a) => a.response.status)).toEqual(Array<number>(10).fill(200));
    expect((await app.admin.GET('/accounts/{customerId}', { params: { path: { customerId }, query: { minVersion: 11 } } })).data).toMatchObject({
      balanceCents: 1000,
      transactionCount: 10,
      version: 11,
    });
  });
});
