import { randomUUID } from 'node:crypto';
import { withClient, type Pool } from '../../src/db/pool';
import { appendToStream } from '../../src/eventstore';
import { countCheckoutOutcome, registry } from '../../src/metrics';
import { ensureCheckpoint, runBatch } from '../../src/projections/projector';
import type { Projection } from '../../src/projections';
import { testPool, uniqueId } from '../support/harness';

let pool: Pool;

beforeAll(() => {
  pool = testPool();
});

afterAll(() => pool.end());

/** The value of one series of a metric in the registry (a histogram's `_count`/`_sum` by metricName). */
async function valueOf(metric: string, labels: Record<string, string>, metricName?: string): Promise<number> {
  // A histogram's values name their series (`_bucket`, `_sum`, `_count`).
  const values: Array<{ value: number; labels: Record<string, string | number | undefined>; metricName?: string }> = (
    await registry.getSingleMetric(metric)!.get()
  ).values;
  const match = values.find((v) => (metricName === undefined || v.metricName === metricName) && Object.entries(labels).every(([k, x]) => v.labels[k] === x));
  return match?.value ?? 0;
}

test('a committed batch observes its size, and an event parked in it counts as a dead letter of its projection', async () => {
  const streamType = uniqueId('metricstype').replace(/-/g, '_');
  const poisoned = randomUUID();
  const projection: Projection = {
    name: uniqueId('metrics_projection').replace(/-/g, '_'),
    streamTypes: [streamType],
    async applyStream(_tx, events) {
      if (events.some((e) => e.eventId === poisoned)) throw new Error('this event cannot be projected');
    },
  };
  await appendToStream(pool, `${streamType}-1`, streamType, 'no_stream', [
    { eventId: randomUUID(), type: 'Happened', data: {}, occurredAt: new Date() },
    { eventId: poisoned, type: 'Happened', data: {}, occurredAt: new Date() },
  ]);
  await ensureCheckpoint(pool, projection.name);

  let passed = 0;
  let batches = 0;
  // From the start of the event table to its end: every other test's events pass through too.
  for (let n = -1; n !== 0; batches++) {
    n = await withClient(pool, (client) => runBatch(client, projection, { batchSize: 1000, maxAttempts: 2 }));
    passed += n;
  }
  const labels = { projection: projection.name };
  expect(await valueOf('order_actors_projection_batch_events', labels, 'order_actors_projection_batch_events_count')).toBe(batches - 1);
  expect(await valueOf('order_actors_projection_batch_events', labels, 'order_actors_projection_batch_events_sum')).toBe(passed);
  expect(await valueOf('order_actors_projection_dead_letters_parked_total', labels)).toBe(1);
});

test('checkout outcomes count by outcome and failure code (a code that is not a stable code counts as ERROR), their compensations, and their duration when the actor stored when they began', async () => {
  const compensationsBefore = await valueOf('order_actors_checkout_compensations_total', {});
  const count = (labels: Record<string, string>) => valueOf('order_actors_checkouts_total', labels);
  const before = [
    await count({ outcome: 'succeeded', code: '' }),
    await count({ outcome: 'failed', code: 'INSUFFICIENT_STOCK' }),
    await count({ outcome: 'failed', code: 'ERROR' }),
  ];
  const durations = (outcome: string) =>
    Promise.all(
      ['count', 'sum'].map((part) => valueOf('order_actors_checkout_duration_seconds', { outcome }, `order_actors_checkout_duration_seconds_${part}`)),
    );
  const [succeededBefore, failedBefore] = [await durations('succeeded'), await durations('failed')];
  const at = '2026-12-01T10:00:02.500Z';
  countCheckoutOutcome({ type: 'CheckoutSucceeded', data: { attempt: 1 }, occurredAt: at, metadata: { checkoutStartedAt: '2026-12-01T10:00:00.000Z' } });
  countCheckoutOutcome({
    type: 'CheckoutFailed',
    data: { attempt: 1, code: 'INSUFFICIENT_STOCK', message: '', compensations: ['released stock of P1', 'refunded 500'] },
    occurredAt: at,
    metadata: {},
  });
  countCheckoutOutcome({
    type: 'CheckoutFailed',
    data: { attempt: 2, code: 'order-42 exploded', message: '', compensations: [] },
    occurredAt: at,
    metadata: {},
  });
  countCheckoutOutcome({ type: 'OrderPlaced', data: {}, occurredAt: at, metadata: { checkoutStartedAt: at } });
  const after = [
    await count({ outcome: 'succeeded', code: '' }),
    await count({ outcome: 'failed', code: 'INSUFFICIENT_STOCK' }),
    await count({ outcome: 'failed', code: 'ERROR' }),
  ];
  expect(after.map((n, i) => n - before[i]!)).toEqual([1, 1, 1]);
  // Only the report that says when its checkout began has a duration: 2.5 s.
  const [succeededAfter, failedAfter] = [await durations('succeeded'), await durations('failed')];
  expect([succeededAfter[0]! - succeededBefore[0]!, succeededAfter[1]! - succeededBefore[1]!]).toEqual([1, 2.5]);
  expect(failedAfter).toEqual(failedBefore);
  expect((await valueOf('order_actors_checkout_compensations_total', {})) - compensationsBefore).toBe(2);
});
