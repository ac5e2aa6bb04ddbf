import { fold } from '../../src/domain/decider';
import { MAX_AMOUNT_CENTS, accountDecider, accountStreamId, initialAccountState, type AccountCommand, type AccountEvent } from '../../src/domain/account';
import { deciderSpec } from './spec';

const spec = deciderSpec(accountDecider);
const CUSTOMER = 'c-1';

const opened: AccountEvent = { type: 'AccountOpened', data: { customerId: CUSTOMER } };
const deposited = (amountCents: number): AccountEvent => ({ type: 'FundsDeposited', data: { amountCents } });
const withdrawn = (amountCents: number): AccountEvent => ({ type: 'FundsWithdrawn', data: { amountCents } });
const debited = (paymentId: string, orderId: string, amountCents: number): AccountEvent => ({
  type: 'AccountDebited',
  data: { paymentId, orderId, amountCents },
});
const refunded = (paymentId: string, orderId: string, amountCents: number): AccountEvent => ({
  type: 'PaymentRefunded',
  data: { paymentId, orderId, amountCents },
});

const deposit = (amountCents: number): AccountCommand => ({ type: 'Deposit', customerId: CUSTOMER, amountCents });
const withdraw = (amountCents: number): AccountCommand => ({ type: 'Withdraw', customerId: CUSTOMER, amountCents });
const debit = (paymentId: string, orderId: string, amountCents: number): AccountCommand => ({
  type: 'Debit',
  customerId: CUSTOMER,
  paymentId,
  orderId,
  amountCents,
});
const refund = (paymentId: string): AccountCommand => ({ type: 'Refund', customerId: CUSTOMER, paymentId });

const funded = [opened, deposited(1000)];
const paid = [...funded, debited('pay-1', 'o-1', 300)];

const invalidAmounts: Array<[string, number]> = [
  ['zero', 0],
  ['negative', -100],
  ['fractional', 10.5],
  ['NaN', Number.NaN],
  ['infinite', Number.POSITIVE_INFINITY],
  ['above MAX_AMOUNT_CENTS', MAX_AMOUNT_CENTS + 1],
];

describe('account decider', () => {
  test('the stream id is account-<customerId>; a new account is empty and unopened', () => {
    expect(accountStreamId('c-9')).toBe('account-c-9');
    expect(initialAccountState).toEqual({
      customerId: null,
      balanceCents: 0,
      totalDepositsCents: 0,
      totalWithdrawalsCents: 0,
      transactionCount: 0,
      payments: {},
    });
  });

  describe('Deposit', () => {
    test('the first deposit opens the account: AccountOpened then FundsDeposited', () => {
      const state = spec
        .given([])
        .when(deposit(1000))
        .then([opened, deposited(1000)]);
      expect(state).toEqual({
        customerId: CUSTOMER,
        balanceCents: 1000,
        totalDepositsCents: 1000,
        totalWithdrawalsCents: 0,
        transactionCount: 1,
        payments: {},
      });
    });

    test('a later deposit only adds: FundsDeposited', () => {
      const state = spec
        .given(funded)
        .when(deposit(250))
        .then([deposited(250)]);
      expect(state).toMatchObject({ balanceCents: 1250, totalDepositsCents: 1250, transactionCount: 2 });
    });

    test.each([1, MAX_AMOUNT_CENTS])('the boundary amount %p is accepted', (amountCents) => {
      spec
        .given(funded)
        .when(deposit(amountCents))
        .then([deposited(amountCents)]);
    });

    test.each(invalidAmounts)('a %s amount is refused with INVALID_AMOUNT (rule)', (_label, amountCents) => {
      spec.given([]).when(deposit(amountCents)).thenThrows('INVALID_AMOUNT', 'rule');
    });
  });

  describe('Withdraw', () => {
    test('takes from the balance: FundsWithdrawn; counted in total withdrawals', () => {
      const state = spec
        .given(funded)
        .when(withdraw(400))
        .then([withdrawn(400)]);
      expect(state).toMatchObject({ balanceCents: 600, totalDepositsCents: 1000, totalWithdrawalsCents: 400, transactionCount: 2 });
    });

    test('the whole balance can be withdrawn, down to exactly zero', () => {
      expect(
        spec
          .given(funded)
          .when(withdraw(1000))
          .then([withdrawn(1000)]).balanceCents,
      ).toBe(0);
    });

    test('more than the balance is refused with INSUFFICIENT_FUNDS (rule)', () => {
      spec.given(funded).when(withdraw(1001)).thenThrows('INSUFFICIENT_FUNDS', 'rule');
    });

    test('an account that does not exist has nothing: INSUFFICIENT_FUNDS, and it is not opened', () => {
      spec.given([]).when(withdraw(1)).thenThrows('INSUFFICIENT_FUNDS', 'rule');
    });

    test.each(invalidAmounts)('a %s amount is refused with INVALID_AMOUNT (rule)', (_label, amountCents) => {
      spec.given(funded).when(withdraw(amountCents)).thenThrows('INVALID_AMOUNT', 'rule');
    });
  });

  describe('Debit', () => {
    test('takes the payment: AccountDebited; counted as a transaction, not as a withdrawal', () => {
      const state = spec
        .given(funded)
        .when(debit('pay-1', 'o-1', 300))
        .then([debited('pay-1', 'o-1', 300)]);
      expect(state).toEqual({
        customerId: CUSTOMER,
        balanceCents: 700,
        totalDepositsCents: 1000,
        totalWithdrawalsCents: 0,
        transactionCount: 2,
        payments: { 'pay-1': { orderId: 'o-1', amountCents: 300, refunded: false } },
      });
    });

    test('the whole balance can be debited; a cent more is refused with INSUFFICIENT_FUNDS (rule)', () => {
      spec
        .given(funded)
        .when(debit('pay-1', 'o-1', 1000))
        .then([debited('pay-1', 'o-1', 1000)]);
      spec
        .given(funded)
        .when(debit('pay-1', 'o-1', 1001))
        .thenThrows('INSUFFICIENT_FUNDS', 'rule');
    });

    test('with no account at all: INSUFFICIENT_FUNDS', () => {
      spec
        .given([])
        .when(debit('pay-1', 'o-1', 1))
        .thenThrows('INSUFFICIENT_FUNDS', 'rule');
    });

    test('the same payment again is no events, even when the balance could not pay it now', () => {
      spec
        .given([...paid, withdrawn(700)])
        .when(debit('pay-1', 'o-1', 300))
        .then([]);
    });

    test('a refunded payment id is spent: debiting it again is no events', () => {
      const state = spec
        .given([...paid, refunded('pay-1', 'o-1', 300)])
        .when(debit('pay-1', 'o-1', 300))
        .then([]);
      expect(state.balanceCents).toBe(1000);
    });

    test.each([
      ['another amount', debit('pay-1', 'o-1', 301)],
      ['another order', debit('pay-1', 'o-2', 300)],
    ])('the same payment id for %s is refused with PAYMENT_MISMATCH (conflict)', (_label, command) => {
      spec.given(paid).when(command).thenThrows('PAYMENT_MISMATCH', 'conflict');
    });

    test.each(invalidAmounts)('a %s amount is refused with INVALID_AMOUNT (rule)', (_label, amountCents) => {
      spec
        .given(funded)
        .when(debit('pay-1', 'o-1', amountCents))
        .thenThrows('INVALID_AMOUNT', 'rule');
    });

    test('an empty payment id is refused with INVALID_PAYMENT_ID (rule)', () => {
      spec
        .given(funded)
        .when(debit('', 'o-1', 1))
        .thenThrows('INVALID_PAYMENT_ID', 'rule');
    });

    test.each(['constructor', '__proto__', 'hasOwnProperty'])('the payment id %p is an ordinary new payment', (paymentId) => {
      const state = spec
        .given(funded)
        .when(debit(paymentId, 'o-1', 5))
        .then([debited(paymentId, 'o-1', 5)]);
      expect(Object.hasOwn(state.payments, paymentId)).toBe(true);
      spec
        .given([...funded, debited(paymentId, 'o-1', 5)])
        .when(refund(paymentId))
        .then([refunded(paymentId, 'o-1', 5)]);
    });
  });

  describe('Refund', () => {
    test('gives back exactly what the payment debited, with its order: PaymentRefunded', () => {
      const state = spec
        .given(paid)
        .when(refund('pay-1'))
        .then([refunded('pay-1', 'o-1', 300)]);
      expect(state).toMatchObject({
        balanceCents: 1000,
        totalDepositsCents: 1000,
        totalWithdrawalsCents: 0,
        transactionCount: 3,
        payments: { 'pay-1': { orderId: 'o-1', amountCents: 300, refunded: true } },
      });
    });

    test('only that payment: another stays debited', () => {
      const state = spec
        .given([...paid, debited('pay-2', 'o-2', 200)])
        .when(refund('pay-2'))
        .then([refunded('pay-2', 'o-2', 200)]);
      expect(state.balanceCents).toBe(700);
      expect(state.payments['pay-1']!.refunded).toBe(false);
    });

    test('twice is no events the second time', () => {
      spec
        .given([...paid, refunded('pay-1', 'o-1', 300)])
        .when(refund('pay-1'))
        .then([]);
    });

    const voided = (paymentId: string): AccountEvent => ({ type: 'PaymentVoided', data: { paymentId } });

    test('an unknown payment is voided (a compensation may run before its debit did); no money moves', () => {
      const state = spec
        .given(paid)
        .when(refund('pay-late'))
        .then([voided('pay-late')]);
      expect(state).toMatchObject({ balanceCents: 700, transactionCount: 2 });
      spec
        .given([...paid, voided('pay-late')])
        .when(refund('pay-late'))
        .then([]);
    });

    test('a debit that arrives after its refund (it outlived its timeout) takes nothing', () => {
      const state = spec
        .given([...paid, voided('pay-late')])
        .when(debit('pay-late', 'o-2', 500))
        .then([]);
      expect(state.balanceCents).toBe(700);
    });

    test('on an account that does not exist, the void opens it with a zero balance', () => {
      const state = spec
        .given([])
        .when(refund('pay-1'))
        .then([opened, voided('pay-1')]);
      expect(state).toMatchObject({ balanceCents: 0, transactionCount: 0 });
    });

    test('an empty payment id is refused with INVALID_PAYMENT_ID (rule)', () => {
      spec.given(paid).when(refund('')).thenThrows('INVALID_PAYMENT_ID', 'rule');
    });
  });

  test('a whole life: balance = deposits - withdrawals - debits + refunds; every movement counts once', () => {
    const state = fold(accountDecider, [
      opened,
      deposited(1000),
      deposited(500),
      withdrawn(200),
      debited('p1', 'o1', 300),
      debited('p2', 'o2', 100),
      refunded('p1', 'o1', 300),
    ]);
    expect(state).toMatchObject({ balanceCents: 1200, totalDepositsCents: 1500, totalWithdrawalsCents: 200, transactionCount: 6 });
  });
});
