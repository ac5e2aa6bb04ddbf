import { randomUUID } from 'node:crypto';
import { internalCommandId } from '../domain/commandIds';
import { ACCOUNT_SNAPSHOT_SCHEMA, ACCOUNT_STREAM_TYPE, accountDecider, accountStreamId, findPayment, type AccountCommand } from '../domain/account';
import { handleSnapshottedCommand, type TransactionalDb } from '../eventstore';
import { accountPaymentRows } from './accountPaymentRows';
import type { CheckoutActivities } from './checkoutActivities';
import { activityMetadata, refuse, toActivityFailure } from './activityFailures';

export type PaymentActivities = Pick<CheckoutActivities, 'debitAccount' | 'refundPayment'>;

/*
 * Every conflict means another writer to the same account succeeded in between, so a writer can
 * lose at most once per concurrent writer: this covers bursts of that size without a Temporal
 * retry. A conflict beyond it is thrown as it is, and Temporal retries the activity.
 */
export const ACCOUNT_COMMAND_ATTEMPTS = 32;

/**
 * Runs one account command through the optimistic-concurrency command handler, on the account's
 * snapshot: it reads the totals, the events after them and its own payment, not the whole stream.
 * The answer's state holds only the payment the command names.
 */
export function executeAccountCommand(db: TransactionalDb, command: AccountCommand, commandId: string, correlationId: string, options: { skipIfCommandStored?: boolean } = {}) {
  return handleSnapshottedCommand(db, accountDecider, { id: accountStreamId(command.customerId), type: ACCOUNT_STREAM_TYPE }, command, {
    metadata: activityMetadata(commandId, correlationId),
    newEventId: randomUUID,
    now: () => new Date(),
    maxAttempts: ACCOUNT_COMMAND_ATTEMPTS,
    entries: accountPaymentRows,
    snapshotSchema: ACCOUNT_SNAPSHOT_SCHEMA,
    ...options,
  });
}

/** The saga's payment steps, idempotent on (customerId, paymentId). */
export function createPaymentActivities(db: TransactionalDb): PaymentActivities {
  const run = async (command: Extract<AccountCommand, { paymentId: string }>) => {
    try {
      return await executeAccountCommand(db, command, internalCommandId(command.type.toLowerCase(), command.paymentId), command.paymentId);
    } catch (err) {
      throw toActivityFailure(err);
    }
  };

  return {
    async debitAccount({ paymentId, customerId, orderId, amountCents }) {
      const { state } = await run({ type: 'Debit', customerId, paymentId, orderId, amountCents });
      // A refunded payment id answers a debit with no events; "resolved" must mean "the money is taken".
      if (findPayment(state, paymentId)?.refunded) throw refuse('PAYMENT_REFUNDED', `Payment ${paymentId} was already refunded.`, 'conflict');
    },
    async refundPayment({ paymentId, customerId }) {
      await run({ type: 'Refund', customerId, paymentId });
    },
  };
}
