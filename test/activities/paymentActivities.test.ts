import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import { executeAccountCommand } from '../../src/application/accounts';
import { commandMetadata } from '../../src/application/commandMetadata';
import { createPaymentActivities, type PaymentActivities } from '../../src/activities/paymentActivities';
import type { Pool } from '../../src/db/pool';
import { accountDecider, accountStreamId } from '../../src/domain/account';
import { appendToStream, type TransactionalDb } from '../../src/eventstore';
import { checkMoney } from '../../src/invariants';
import { testPool, uniqueId } from '../support/harness';
import { expectRefused } from './failures';
import { readStream } from '../../src/application/eventStore';
import { foldRecorded } from '../../src/application/foldStream';

/* The saga's payment steps on real Postgres, called directly. Every test has its own customer. */

const DEBITORS = 20;

let pool: Pool;
let payments: PaymentActivities;

beforeAll(async () => {
  pool = testPool(DEBITORS + 5);
  const clients = await Promise.all(Array.from({ length: DEBITORS }, () => pool.connect()));
  clients.forEach((c) => c.release());
  payments = createPaymentActivities(pool);
});

afterAll(async () => {
  await pool.end();
});

async function customerWith(balanceCents: number): Promise<string> {
  const customerId = uniqueId('customer');
  await executeAccountCommand(pool, { type: 'Deposit', customerId, amountCents: balanceCents }, commandMetadata(uniqueId('deposit'), 'test'));
  return customerId;
}

async function account(customerId: string) {
  const events = await readStream(pool, accountStreamId(customerId));
  return { events, state: foldRecorded(accountDecider, events), types: events.map((e) => e.type) };
}

test('a debit is idempotent by paymentId: retried, it takes the money once', async () => {
  const customerId = await customerWith(1000);
  const debit = { paymentId: 'pay-1', customerId, orderId: 'o-1', amountCents: 300 };
  await payments.debitAccount(debit);
  await payments.debitAccount(debit);
  await Promise.all(Array.from({ length: 5 }, () => payments.debitAccount(debit)));
  const { state, types, events } = await account(customerId);
  expect(types).toEqual(['AccountOpened', 'FundsDeposited', 'AccountDebited']);
  expect(events[2]!.data).toEqual({ paymentId: 'pay-1', orderId: 'o-1', amountCents: 300 });
  expect(state.balanceCents).toBe(700);
});

test('a refund gives back exactly what was debited, once', async () => {
  const customerId = await customerWith(1000);
  await payments.debitAccount({ paymentId: 'pay-1', customerId, orderId: 'o-1', amountCents: 275 });
  await payments.debitAccount({ paymentId: 'pay-2', customerId, orderId: 'o-2', amountCents: 100 });
  await payments.refundPayment({ paymentId: 'pay-1', customerId });
  await payments.refundPayment({ paymentId: 'pay-1', customerId });
  // Refunding what was never debited (a compensation of a step that never ran) moves no money.
  await payments.refundPayment({ paymentId: 'never', customerId });

  const { state, types, events } = await account(customerId);
  expect(types).toEqual(['AccountOpened', 'FundsDeposited', 'AccountDebited', 'AccountDebited', 'PaymentRefunded', 'PaymentVoided']);
  expect(events[4]!.data).toEqual({ paymentId: 'pay-1', orderId: 'o-1', amountCents: 275 });
  expect(state.balanceCents).toBe(900);
  expect(state.transactionCount).toBe(4);
});

test('a refunded payment id is spent: debiting it again is refused and takes nothing', async () => {
  const customerId = await customerWith(500);
  const debit = { paymentId: 'pay-1', customerId, orderId: 'o-1', amountCents: 200 };
  await payments.debitAccount(debit);
  await payments.refundPayment(debit);
  await expectRefused(payments.debitAccount(debit), 'PAYMENT_REFUNDED');
  const { state, types } = await account(customerId);
  expect(types).toEqual(['AccountOpened', 'FundsDeposited', 'AccountDebited', 'PaymentRefunded']);
  expect(state.balanceCents).toBe(500);
});

test('business refusals are non-retryable failures with their code; nothing is written', async () => {
  const customerId = await customerWith(100);
  await expectRefused(payments.debitAccount({ paymentId: 'pay-1', customerId, orderId: 'o-1', amountCents: 101 }), 'INSUFFICIENT_FUNDS');
  await expectRefused(payments.debitAccount({ paymentId: 'pay-1', customerId, orderId: 'o-1', amountCents: 0 }), 'INVALID_AMOUNT');
  await payments.debitAccount({ paymentId: 'pay-2', customerId, orderId: 'o-2', amountCents: 40 });
  await expectRefused(payments.debitAccount({ paymentId: 'pay-2', customerId, orderId: 'o-2', amountCents: 41 }), 'PAYMENT_MISMATCH');
  expect((await account(customerId)).types).toEqual(['AccountOpened', 'FundsDeposited', 'AccountDebited']);

  // A customer who never deposited has no money: the attempt opens no account (its compensating
  // refund then does, to hold the void at a zero balance).
  const stranger = uniqueId('customer');
  await expectRefused(payments.debitAccount({ paymentId: 'pay-1', customerId: stranger, orderId: 'o-1', amountCents: 1 }), 'INSUFFICIENT_FUNDS');
  expect((await account(stranger)).events).toEqual([]);
  await payments.refundPayment({ paymentId: 'pay-1', customerId: stranger });
  expect((await account(stranger)).types).toEqual(['AccountOpened', 'PaymentVoided']);
});

test('a debit that arrives after its refund (it outlived its timeout) takes nothing', async () => {
  const customerId = await customerWith(500);
  await payments.refundPayment({ paymentId: 'late', customerId });
  await expectRefused(payments.debitAccount({ paymentId: 'late', customerId, orderId: 'o-1', amountCents: 200 }), 'PAYMENT_REFUNDED');
  const { state, types } = await account(customerId);
  expect(types).toEqual(['AccountOpened', 'FundsDeposited', 'PaymentVoided']);
  expect(state.balanceCents).toBe(500);
});

test(`${DEBITORS} concurrent debits of 100 on a balance of 1000: exactly 10 succeed, never below zero`, async () => {
  const customerId = await customerWith(1000);
  const outcomes = await Promise.allSettled(
    Array.from({ length: DEBITORS }, (_, i) => payments.debitAccount({ paymentId: `pay-${i}`, customerId, orderId: `o-${i}`, amountCents: 100 })),
  );
  const refusals = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason] : []));
  expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(10);
  expect(refusals).toHaveLength(DEBITORS - 10);
  for (const refusal of refusals) {
    expect(refusal).toBeInstanceOf(ApplicationFailure);
    expect({ type: refusal.type, nonRetryable: refusal.nonRetryable }).toEqual({ type: 'INSUFFICIENT_FUNDS', nonRetryable: true });
  }
  const { state, events } = await account(customerId);
  expect(state.balanceCents).toBe(0);
  expect(Object.keys(state.payments)).toHaveLength(10);
  expect(events.map((e) => e.version)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
  // The balance after every event, in order, never dips below zero.
  for (let i = 1; i <= events.length; i++) {
    const balance = foldRecorded(accountDecider, events.slice(0, i)).balanceCents;
    expect(balance).toBeGreaterThanOrEqual(0);
  }
});

describe('the snapshot a command reads instead of the stream', () => {
  const snapshotViolations = async (customerId: string) =>
    (await checkMoney(pool, { streamIds: [accountStreamId(customerId)] })).violations.filter((v) => v.includes('snapshot'));

  test('events a writer without snapshots appended (an older worker mid-deploy) are folded on top, and the snapshot catches up', async () => {
    const customerId = await customerWith(1000);
    // A debit stored the old way: the event only, no snapshot, no payment row.
    await appendToStream(pool, accountStreamId(customerId), 'account', 2, [
      { eventId: randomUUID(), type: 'AccountDebited', data: { paymentId: 'pay-old', orderId: 'o-1', amountCents: 400 }, occurredAt: new Date() },
    ]);
    await payments.refundPayment({ paymentId: 'pay-old', customerId });
    await payments.refundPayment({ paymentId: 'pay-old', customerId });
    await expectRefused(payments.debitAccount({ paymentId: 'pay-old', customerId, orderId: 'o-1', amountCents: 400 }), 'PAYMENT_REFUNDED');
    const { types, state } = await account(customerId);
    expect(types).toEqual(['AccountOpened', 'FundsDeposited', 'AccountDebited', 'PaymentRefunded']);
    expect(state.balanceCents).toBe(1000);
    const { rows } = await pool.query('SELECT version FROM stream_snapshots WHERE stream_id = $1', [accountStreamId(customerId)]);
    expect(rows).toEqual([{ version: '4' }]);
    expect(await snapshotViolations(customerId)).toEqual([]);
  });

  test('a snapshot of another schema is ignored: the next command folds the stream and rewrites it', async () => {
    const customerId = await customerWith(1000);
    await payments.debitAccount({ paymentId: 'pay-1', customerId, orderId: 'o-1', amountCents: 300 });
    // As if the snapshot were written by a version whose AccountState had another shape.
    await pool.query(`UPDATE stream_snapshots SET schema_version = 0, state = '{"balance": 5}' WHERE stream_id = $1`, [accountStreamId(customerId)]);
    await pool.query('UPDATE account_payments SET amount_cents = 1 WHERE stream_id = $1', [accountStreamId(customerId)]);
    await payments.refundPayment({ paymentId: 'pay-1', customerId });
    const { events, state } = await account(customerId);
    expect(events.at(-1)!.data).toEqual({ paymentId: 'pay-1', orderId: 'o-1', amountCents: 300 });
    expect(state.balanceCents).toBe(1000);
    expect(await snapshotViolations(customerId)).toEqual([]);
  });

  test('a customer never seen has no snapshot until a command stores an event', async () => {
    const customerId = uniqueId('customer');
    await expectRefused(payments.debitAccount({ paymentId: 'pay-1', customerId, orderId: 'o-1', amountCents: 1 }), 'INSUFFICIENT_FUNDS');
    expect((await pool.query('SELECT 1 FROM stream_snapshots WHERE stream_id = $1', [accountStreamId(customerId)])).rowCount).toBe(0);
  });
});

test('a technical failure is thrown as it is, for Temporal to retry', async () => {
  const outage = new Error('connection terminated unexpectedly');
  const broken: TransactionalDb = { query: () => Promise.reject(outage), connect: () => Promise.reject(outage) };
  const activities = createPaymentActivities(broken);
  await expect(activities.debitAccount({ paymentId: 'p', customerId: 'c', orderId: 'o', amountCents: 1 })).rejects.toBe(outage);
  await expect(activities.refundPayment({ paymentId: 'p', customerId: 'c' })).rejects.toBe(outage);
});
