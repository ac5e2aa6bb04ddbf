import { randomUUID } from 'node:crypto';
import { changeKey, changePayload, ReadModelChanges } from '../../src/db/readModelChanges';
import { testPool } from '../support/harness';
import { eventually } from '../api/appWith';

test('a payload names (projection, stream) pairs by short keys, once each, and everything when they do not fit', () => {
  expect(changePayload('catalog', ['stock-1', 'stock-1', 'product-1'])).toBe(`${changeKey('catalog', 'stock-1')},${changeKey('catalog', 'product-1')}`);
  expect(changeKey('catalog', 'stock-1')).not.toBe(changeKey('order_summary', 'stock-1'));
  const many = Array.from({ length: 1000 }, (_, i) => `order-${i}`);
  expect(changePayload('order_summary', many)).toBe('*');
  expect(changePayload('order_summary', many.slice(0, 200)).length).toBeLessThan(8000); // a full default batch still names its streams
});

test('a notification wakes the subscribers it names, `*` wakes all, and an unsubscribed waiter is left alone', async () => {
  const pool = testPool(1);
  // A channel of its own: a `*` on the projector's channel would wake other test files' waiters.
  const channel = `test_changes_${randomUUID().replace(/-/g, '')}`;
  const changes = new ReadModelChanges({ connectionString: (pool.options as { connectionString: string }).connectionString }, { channel });
  const woken: string[] = [];
  try {
    await changes.listen();
    expect(changes.listening).toBe(true);
    const stopA = changes.subscribe('order_summary', ['order-a'], () => woken.push('a'));
    changes.subscribe('catalog', ['product-b', 'stock-b'], () => woken.push('b'));
    const stopC = changes.subscribe('catalog', ['stock-c'], () => woken.push('c'));
    stopC();
    const notify = (payload: string) => pool.query('SELECT pg_notify($1, $2)', [channel, payload]);
    // Notifications arrive in order: once this one is in, every earlier one is too.
    let sentinels = 0;
    changes.subscribe('sentinel', ['s'], () => sentinels++);
    const delivered = async (count: number) => {
      await notify(changePayload('sentinel', ['s']));
      expect(await eventually(() => sentinels === count)).toBe(true);
    };

    // Another projection's batch on b's stream, then the catalog's batch on it: only the second is b's.
    await notify(changePayload('stock_audit', ['stock-b']));
    await notify(changePayload('catalog', ['stock-b', 'stock-x']));
    await delivered(1);
    expect(woken).toEqual(['b']);
    await notify('*');
    await delivered(3); // the `*` woke the sentinel too
    expect(woken.slice(1).sort()).toEqual(['a', 'b']);
    stopA();
    stopA(); // twice is harmless
    expect(changes.subscribers).toBe(2);
  } finally {
    await changes.close();
    await pool.end();
  }
});
