import { uniqueId, useTestApi } from '../support/harness';

const app = useTestApi();

describe('the vertical slice over real HTTP', () => {
  test('POST /orders starts the actor, which appends OrderCreated to Postgres; GET /orders/:id/events returns it', async () => {
    const orderId = uniqueId('slice');
    const created = await app.admin.POST('/orders', { body: { orderId, customerId: 'customer-1' } });
    expect(created.response.status).toBe(201);
    expect(created.data).toMatchObject({ orderId, version: 1, status: 'PENDING', events: ['OrderCreated'] });
    expect(created.response.headers.get('location')).toBe(`/orders/${orderId}`);
    expect(created.response.headers.get('etag')).toBe('"1"');

    const events = await app.admin.GET('/orders/{orderId}/events', { params: { path: { orderId } } });
    expect(events.response.status).toBe(200);
    expect(events.data!.events).toHaveLength(1);
    expect(events.data!.events[0]).toMatchObject({
      streamId: `order-${orderId}`,
      version: 1,
      type: 'OrderCreated',
      data: { orderId, customerId: 'customer-1', shippingAddress: null },
      metadata: { workflowId: `order-${orderId}` },
    });

    const description = await app.client.workflow.getHandle(`order-${orderId}`).describe();
    expect(description.status.name).toBe('RUNNING');
    expect(description.type).toBe('orderWorkflow');
  });

  test('malformed JSON is a 400 problem with a stable code', async () => {
    const res = await app.rawCall('POST', '/orders', { rawBody: '{"customerId": ' });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ code: 'MALFORMED_JSON', status: 400 });
    expect(res.body.detail).toEqual(expect.any(String));
  });

  test('a missing customerId is a 400 naming the field, and starts nothing', async () => {
    const orderId = uniqueId('nocustomer');
    const res = await app.admin.POST('/orders', { body: { orderId } });
    expect(res.response.status).toBe(400);
    expect(res.response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.error!.code).toBe('VALIDATION_FAILED');
    expect(res.error!.detail).toContain('customerId');
    await expect(app.client.workflow.getHandle(`order-${orderId}`).describe()).rejects.toThrow();
    const stored = await app.pool.query('SELECT count(*)::int AS n FROM events WHERE stream_id = $1', [`order-${orderId}`]);
    expect(stored.rows[0].n).toBe(0);
  });

  test('an unknown order is a 404 problem', async () => {
    const params = { path: { orderId: 'no-such-order' } };
    for (const read of [() => app.admin.GET('/orders/{orderId}/events', { params }), () => app.admin.GET('/orders/{orderId}', { params })]) {
      const res = await read();
      expect(res.response.status).toBe(404);
      expect(res.response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(res.error!.code).toBe('ORDER_NOT_FOUND');
    }
  });
});
