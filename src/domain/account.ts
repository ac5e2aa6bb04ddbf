import { DomainError, type Decider } from './decider';
import { streamNames } from './streamNames';

/*
 * A customer's wallet, in integer cents. The balance never goes below zero. Payments (debits for
 * an order) are idempotent on their payment id, and a payment id is used once: once refunded it
 * can never take money again. A refund gives back exactly what its debit took. A refund that
 * comes before its debit (a debit that outlived its timeout while the saga compensated) voids the
 * payment id, so the late debit takes nothing.
 *
 * transactionCount counts every movement of money: deposits, withdrawals, debits and refunds (not
 * the opening). totalDepositsCents / totalWithdrawalsCents count only deposits and withdrawals, so
 * balance = deposits - withdrawals - debits + refunds.
 */

export interface Payment {
  /** null for a voided payment id: refunded before any debit. */
  orderId: string | null;
  amountCents: number;
  /** Refunded or voided: the id may never take money again. */
  refunded: boolean;
}

/**
 * `decide` reads the totals and the entry of its command's payment id, `evolve` the totals and the
 * entry its event names, nothing else: a host may load only those entries
 * (src/activities/accountPaymentRows.ts).
 */
export interface AccountState {
  /** null until the account is opened (by its first event). */
  customerId: string | null;
  balanceCents: number;
  totalDepositsCents: number;
  totalWithdrawalsCents: number;
  transactionCount: number;
  payments: Record<string, Payment>;
}

/** An account's totals, without its payments: what its snapshot stores. */
export type AccountTotals = Omit<AccountState, 'payments'>;

/**
 * The shape of a stored account snapshot (AccountTotals) and its payment rows. Bump it when
 * AccountState or evolveAccount changes: snapshots of another schema are rebuilt from the stream.
 */
export const ACCOUNT_SNAPSHOT_SCHEMA = 1;

/** Every command names its customer: the first event of an account is AccountOpened with it. */
export type AccountCommand =
  | { type: 'Deposit'; customerId: string; amountCents: number }
  | { type: 'Withdraw'; customerId: string; amountCents: number }
  | { type: 'Debit'; customerId: string; paymentId: string; orderId: string; amountCents: number }
  | { type: 'Refund'; customerId: string; paymentId: string };

export type AccountEvent =
  | { type: 'AccountOpened'; data: { customerId: string } }
  | { type: 'FundsDeposited'; data: { amountCents: number } }
  | { type: 'FundsWithdrawn'; data: { amountCents: number } }
  | { type: 'AccountDebited'; data: { paymentId: string; orderId: string; amountCents: number } }
  | { type: 'PaymentRefunded'; data: { paymentId: string; orderId: string; amountCents: number } }
  | { type: 'PaymentVoided'; data: { paymentId: string } };

export const MAX_AMOUNT_CENTS = 1_000_000_000;

export const initialAccountState: AccountState = {
  customerId: null,
  balanceCents: 0,
  totalDepositsCents: 0,
  totalWithdrawalsCents: 0,
  transactionCount: 0,
  payments: {},
};

function requireAmount(amountCents: number): void {
  if (!Number.isInteger(amountCents) || amountCents < 1 || amountCents > MAX_AMOUNT_CENTS) {
    throw new DomainError('INVALID_AMOUNT', `An amount is a whole number of cents from 1 to ${MAX_AMOUNT_CENTS}.`);
  }
}

function requireFunds(state: AccountState, amountCents: number): void {
  if (state.balanceCents < amountCents) {
    throw new DomainError('INSUFFICIENT_FUNDS', `The balance is ${state.balanceCents} cents, ${amountCents} needed.`);
  }
}

function requirePaymentId(paymentId: string): void {
  if (typeof paymentId !== 'string' || paymentId === '') throw new DomainError('INVALID_PAYMENT_ID', 'A payment needs an id.');
}

/** Own keys only: an id such as "constructor" must not find Object.prototype's member. */
export function findPayment(state: AccountState, paymentId: string): Payment | undefined {
  return Object.hasOwn(state.payments, paymentId) ? state.payments[paymentId] : undefined;
}

function decideMovement(command: AccountCommand, state: AccountState): AccountEvent[] {
  switch (command.type) {
    case 'Deposit':
      requireAmount(command.amountCents);
      return [{ type: 'FundsDeposited', data: { amountCents: command.amountCents } }];
    case 'Withdraw':
      requireAmount(command.amountCents);
      requireFunds(state, command.amountCents);
      return [{ type: 'FundsWithdrawn', data: { amountCents: command.amountCents } }];
    case 'Debit': {
      requirePaymentId(command.paymentId);
      requireAmount(command.amountCents);
      const payment = findPayment(state, command.paymentId);
      // Idempotency comes before the funds check: a retry after the balance dropped is still a retry.
      if (payment?.orderId === null) return []; // voided by a refund that came first: it takes nothing
      if (payment) {
        if (payment.orderId !== command.orderId || payment.amountCents !== command.amountCents) {
          throw new DomainError('PAYMENT_MISMATCH', `Payment ${command.paymentId} was for order ${payment.orderId}, ${payment.amountCents} cents.`, 'conflict');
        }
        return [];
      }
      requireFunds(state, command.amountCents);
      return [{ type: 'AccountDebited', data: { paymentId: command.paymentId, orderId: command.orderId, amountCents: command.amountCents } }];
    }
    case 'Refund': {
      requirePaymentId(command.paymentId);
      const payment = findPayment(state, command.paymentId);
      if (!payment) return [{ type: 'PaymentVoided', data: { paymentId: command.paymentId } }];
      if (payment.orderId === null || payment.refunded) return []; // voided, or refunded already
      return [{ type: 'PaymentRefunded', data: { paymentId: command.paymentId, orderId: payment.orderId, amountCents: payment.amountCents } }];
    }
  }
}

export function decideAccount(command: AccountCommand, state: AccountState): AccountEvent[] {
  const events = decideMovement(command, state);
  if (events.length === 0 || state.customerId !== null) return events;
  return [{ type: 'AccountOpened', data: { customerId: command.customerId } }, ...events];
}

export function evolveAccount(state: AccountState, event: AccountEvent): AccountState {
  switch (event.type) {
    case 'AccountOpened':
      return { ...state, customerId: event.data.customerId };
    case 'FundsDeposited':
      return {
        ...state,
        balanceCents: state.balanceCents + event.data.amountCents,
        totalDepositsCents: state.totalDepositsCents + event.data.amountCents,
        transactionCount: state.transactionCount + 1,
      };
    case 'FundsWithdrawn':
      return {
        ...state,
        balanceCents: state.balanceCents - event.data.amountCents,
        totalWithdrawalsCents: state.totalWithdrawalsCents + event.data.amountCents,
        transactionCount: state.transactionCount + 1,
      };
    case 'AccountDebited': {
      const { paymentId, orderId, amountCents } = event.data;
      return {
        ...state,
        balanceCents: state.balanceCents - amountCents,
        transactionCount: state.transactionCount + 1,
        payments: { ...state.payments, [paymentId]: { orderId, amountCents, refunded: false } },
      };
    }
    case 'PaymentRefunded': {
      const { paymentId, orderId, amountCents } = event.data;
      return {
        ...state,
        balanceCents: state.balanceCents + amountCents,
        transactionCount: state.transactionCount + 1,
        payments: { ...state.payments, [paymentId]: { orderId, amountCents, refunded: true } },
      };
    }
    case 'PaymentVoided':
      // Not a movement of money: the balance and the transaction count stay.
      return { ...state, payments: { ...state.payments, [event.data.paymentId]: { orderId: null, amountCents: 0, refunded: true } } };
  }
}

export const accountDecider: Decider<AccountCommand, AccountState, AccountEvent> = {
  initialState: initialAccountState,
  decide: decideAccount,
  evolve: evolveAccount,
};

/** `account-<customerId>`. */
export const accountStreams = streamNames('account');
export const ACCOUNT_STREAM_TYPE = accountStreams.streamType;
export const accountStreamId = accountStreams.streamId;
