import { ReadModelChanges } from '../../src/db/readModelChanges';
import { orderStreamId } from '../../src/domain/order';
import { apiFor, type Caller, customer, expectProblem, type TestApi, uniqueId, useTestApi } from '../support/harness';
import { countingDb, startApiWith } from './appWith';

/*
 * What one API process keeps in memory must stay true when another process changes the data.
 * The one cache of data is the order-owner map (src/api/access.ts): it keeps only owners found or
 * of orders it created, and an owner is the first event of an order's stream, which Postgres keeps from ever changing.
 */

const shared = useTestApi();
let a: TestApi;
let b: TestApi;

beforeAll(async () => {
  [a, b] = await Promise.all([startApiWith({ db: shared.pool, client: shared.client }), startApiWith({ db: shared.pool, client: shared.client })]);
});

afterAll(async () => {
  await Promise.all([a.close(), b.close()]);
});

/** An order with a known id, as only an admin may create one, for `customerId`. */
const create = (api: TestApi, orderId: string, customerId: string) =>
  apiFor(api.baseUrl).POST('/orders', { params: { header: { 'Idempotency-Key': uniqueId('create') } }, body: { orderId, customerId } });

/** A strongly consistent read of the order through `api`, as `as`. */
const strongRead = (api: TestApi, as: Caller, orderId: string) =>
  apiFor(api.baseUrl, as).GET('/orders/{orderId}', { params: { path: { orderId }, query: { consistency: 'strong' } } });

test('an order another replica creates is its owner’s at once here, though this replica had just found no such order', async () => {
  const alice = customer(uniqueId('alice'));
  const bob = customer(uniqueId('bob'));
  const orderId = uniqueId('order');
  expectProblem(await strongRead(a, alice, orderId), 404, 'ORDER_NOT_FOUND');
  const created = await create(b, orderId, alice.sub);
  expect(created.response.status).toBe(201);
  expect((await strongRead(a, alice, orderId)).response.status).toBe(200);
  expectProblem(await strongRead(a, bob, orderId), 404, 'ORDER_NOT_FOUND');
  expectProblem(await strongRead(b, bob, orderId), 404, 'ORDER_NOT_FOUND');
});

test('the fact the owner cache keeps cannot change under it: an order stream’s first event can be neither rewritten, removed nor written again', async () => {
  const alice = customer(uniqueId('alice'));
  const orderId = uniqueId('order');
  expect((await create(a, orderId, alice.sub)).response.status).toBe(201);
  const streamId = orderStreamId(orderId);
  await expect(
    shared.pool.query(`UPDATE events SET data = jsonb_set(data, '{customerId}', '"mallory"') WHERE stream_id = $1 AND version = 1`, [streamId]),
  ).rejects.toThrow(/append-only/);
  await expect(shared.pool.query('DELETE FROM events WHERE stream_id = $1', [streamId])).rejects.toThrow(/append-only/);
  await expect(
    shared.pool.query(
      `INSERT INTO events (stream_id, stream_type, version, event_id, type, data, metadata, occurred_at)
       SELECT stream_id, stream_type, 1, gen_random_uuid(), type, data, metadata, occurred_at FROM events WHERE stream_id = $1 AND version = 1`,
      [streamId],
    ),
  ).rejects.toThrow(/duplicate key/);
  // And a second create of the same id, through either replica, does not hand the order to someone else.
  const mallory = customer(uniqueId('mallory'));
  expectProblem(await create(b, orderId, mallory.sub), 409, 'ORDER_ALREADY_EXISTS');
  expectProblem(await strongRead(b, mallory, orderId), 404, 'ORDER_NOT_FOUND');
  expect((await strongRead(b, alice, orderId)).response.status).toBe(200);
});

test('the replica that creates an order knows its owner: the order’s next request asks Postgres for its rate limit only, and others still get 404', async () => {
  const db = countingDb(shared.pool);
  const readModelChanges = ReadModelChanges.forPool(shared.pool);
  const api = await startApiWith({ db, client: shared.client, readModelChanges });
  try {
    const alice = customer(uniqueId('alice'));
    const created = await apiFor(api.baseUrl, alice).POST('/orders', { body: {} });
    expect(created.response.status).toBe(201);
    const { orderId } = created.data!;
    const before = db.queries;
    // ?consistency=strong asks the actor: the only statements are the rate limit's and an owner look-up, if any.
    expect((await strongRead(api, alice, orderId)).response.status).toBe(200);
    expect(db.queries - before).toBe(1);
    expectProblem(
      await apiFor(api.baseUrl, customer(uniqueId('bob'))).GET('/orders/{orderId}', { params: { path: { orderId }, query: { consistency: 'strong' } } }),
      404,
      'ORDER_NOT_FOUND',
    );
  } finally {
    await api.close();
    await readModelChanges.close();
  }
});
