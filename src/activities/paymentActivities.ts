import { executeAccountCommand } from '../application/accounts';
import { internalCommandId } from '../domain/commandIds';
import { findPayment, type AccountCommand } from '../domain/account';
import type { TransactionalDb } from '../eventstore';
import type { CheckoutActivities } from './checkoutActivities';
import { activityMetadata, refuse, toActivityFailure } from './activityFailures';

export type PaymentActivities = Pick<CheckoutActivities, 'debitAccount' | 'refundPayment'>;

/** The saga's payment steps, idempotent on (customerId, paymentId). */
export function createPaymentActivities(db: TransactionalDb): PaymentActivities {
  const run = async (command: Extract<AccountCommand, { paymentId: string }>) => {
    try {
      return await executeAccountCommand(db, command, activityMetadata(internalCommandId(command.type.toLowerCase(), command.paymentId), command.paymentId));
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
