import fc from 'fast-check';
import type { Request } from 'express';
import { consoleOrderCommandKey } from '../../src/api/console';
import { ApiError } from '../../src/api/problem';
import { commandIdOf } from '../../src/api/requestContext';
import { isOperatorKey } from '../../src/domain/commandIds';
import { operatorOrderCommandKey, runOrderAction } from '../../src/operations/orderActions';
import { cartReadyToCheckOut } from './stranding';
import { customer, statusAndBody, testEnv, useTestApi } from '../support/harness';

/*
 * Operators' order commands (the command line's cancel and ship, the console's) are keyed in a
 * namespace no client Idempotency-Key can reach: a customer who sent the very key an operator's
 * command carries, before the operator, neither blocks it (IDEMPOTENCY_KEY_REUSED) nor gets its
 * answer replayed in its place.
 */
const app = useTestApi();
const actors = { taskQueue: testEnv.taskQueue, cartTtlMs: 30 * 60_000, historyLimit: 2000 };
const REASON = 'the customer phoned';

/** The keys the code forms for operators, and the ones it formed before they had a namespace. */
const formedKeys = [
  'operator-cancel',
  'operator-ship',
  operatorOrderCommandKey('cancel', REASON),
  operatorOrderCommandKey('ship', REASON),
  consoleOrderCommandKey('adm-1'),
  'operator:cancel',
  'Operator:ship',
  'OPERATOR:console:x',
];
const keyChars = fc.constantFrom(...'abcXYZ019_.:-'.split(''));
const hostileKey = fc.oneof(
  fc.constantFrom(...formedKeys),
  fc.string({ unit: keyChars, minLength: 1, maxLength: 40 }),
  fc.string({ unit: keyChars, minLength: 0, maxLength: 30 }).map((tail: string) => `operator:${tail}`),
);

const requestWithKey = (key: string) => ({ get: (name: string) => (name.toLowerCase() === 'idempotency-key' ? key : undefined) }) as unknown as Request;

test('no client Idempotency-Key becomes a key in the operators namespace', () => {
  fc.assert(
    fc.property(hostileKey, (key) => {
      let commandId: string;
      try {
        commandId = commandIdOf(requestWithKey(key));
      } catch (err) {
        expect(err).toBeInstanceOf(ApiError);
        expect((err as ApiError).code).toBe('INVALID_IDEMPOTENCY_KEY');
        return;
      }
      expect(isOperatorKey(commandId)).toBe(false);
      expect(formedKeys.slice(2, 5)).not.toContain(commandId);
    }),
    { examples: formedKeys.map((k): [string] => [k]) },
  );
});

async function eventCount(orderId: string, type: string): Promise<number> {
  const { rows } = await app.pool.query('SELECT count(*)::int AS n FROM events WHERE stream_id = $1 AND type = $2', [`order-${orderId}`, type]);
  return rows[0].n;
}

test("a customer who sent an operator's key first does not block or replace the operator's cancel or ship (command line and console)", async () => {
  await fc.assert(
    fc.asyncProperty(hostileKey, fc.constantFrom('cancel', 'ship'), fc.boolean(), async (key, action, viaConsole) => {
      const { orderId, customerId, productId } = await cartReadyToCheckOut(app.pool, app.admin);
      const asCustomer = { as: customer(customerId), headers: { 'idempotency-key': key } };
      // The customer's own command with the key comes first: another item in the cart, or the checkout.
      const customerFirst =
        action === 'cancel'
          ? await app.rawCall('POST', `/orders/${orderId}/items`, { ...asCustomer, body: { productId, quantity: 1 } })
          : await app.rawCall('POST', `/orders/${orderId}/checkout?wait=true`, asCustomer);
      expect([200, 400]).toContain(customerFirst.status);
      if (customerFirst.status === 400) {
        expect(customerFirst.body.code).toBe('INVALID_IDEMPOTENCY_KEY');
        if (action === 'ship')
          expect(
            (await app.as(customer(customerId)).POST('/orders/{orderId}/checkout', { params: { path: { orderId }, query: { wait: 'true' } } })).response.status,
          ).toBe(200);
      }

      const leadsTo = action === 'cancel' ? 'CANCELLED' : 'SHIPPED';
      const event = action === 'cancel' ? 'OrderCancelled' : 'OrderShipped';
      for (let run = 0; run < 2; run++) {
        if (viaConsole) {
          const adminKey = `adm-${orderId}`;
          const res = await app.admin.POST('/admin/actions', {
            params: { header: { 'Idempotency-Key': adminKey } },
            body: { action, orderId, reason: REASON },
          });
          expect(statusAndBody(res)).toMatchObject({ status: 200, body: { replayed: run === 1, action: { outcome: { status: 'done' } } } });
          expect(res.data!.action.outcome).toMatchObject({ answer: { orderStatus: leadsTo } });
        } else {
          const report = await runOrderAction({ db: app.pool, client: app.client, actors }, orderId, action, { reason: REASON, operator: 'ops' });
          expect(report).toMatchObject({ outcome: run === 0 ? 'done' : 'already-done', status: leadsTo });
        }
      }
      expect(await eventCount(orderId, event)).toBe(1);
    }),
    {
      // The examples count towards numRuns: all 20 of them, then random keys.
      numRuns: 28,
      examples: formedKeys.slice(0, 5).flatMap((k): [string, 'cancel' | 'ship', boolean][] => [
        [k, 'cancel', false],
        [k, 'ship', false],
        [k, 'cancel', true],
        [k, 'ship', true],
      ]),
    },
  );
}, 180_000);

test('a cancel re-run with another reason changes nothing and says so', async () => {
  const { orderId } = await cartReadyToCheckOut(app.pool, app.admin);
  const deps = { db: app.pool, client: app.client, actors };
  expect((await runOrderAction(deps, orderId, 'cancel', { reason: 'first', operator: 'ops' })).outcome).toBe('done');
  expect((await runOrderAction(deps, orderId, 'cancel', { reason: 'second', operator: 'ops' })).outcome).toBe('already-done');
  expect(await eventCount(orderId, 'OrderCancelled')).toBe(1);
});
