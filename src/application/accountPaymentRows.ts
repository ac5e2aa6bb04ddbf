import { findPayment, type AccountCommand, type AccountEvent, type AccountState, type AccountTotals, type Payment } from '../domain/account';
import { type KeyedEntries } from './keyedEntries';

/**
 * Payments as rows of `account_payments`, beside the account's snapshot of its totals: a command
 * loads and writes only its own payment, so an old customer's command costs what a new one's does.
 */
export const accountPaymentRows: KeyedEntries<AccountCommand, AccountState, AccountEvent, Payment> = {
  keysOf: (command) => ('paymentId' in command ? [command.paymentId] : []),
  keyOf: (event) => ('paymentId' in event.data ? event.data.paymentId : undefined),
  rootOf: ({ payments: _payments, ...totals }): AccountTotals => totals,
  entryOf: findPayment,
  compose: (root, payments) => ({ ...(root as AccountTotals), payments: Object.fromEntries(payments) }),
  async load(db, streamId, _root, keys) {
    if (keys.length === 0) return new Map();
    const { rows } = await db.query<{ payment_id: string; order_id: string | null; amount_cents: string; refunded: boolean }>(
      'SELECT payment_id, order_id, amount_cents, refunded FROM account_payments WHERE stream_id = $1 AND payment_id = ANY($2::text[])',
      [streamId, keys],
    );
    return new Map(rows.map((r) => [r.payment_id, { orderId: r.order_id, amountCents: Number(r.amount_cents), refunded: r.refunded }]));
  },
  async save(db, streamId, payments) {
    if (payments.size === 0) return;
    const entries = [...payments];
    await db.query(
      `INSERT INTO account_payments (stream_id, payment_id, order_id, amount_cents, refunded)
         SELECT $1::text, * FROM unnest($2::text[], $3::text[], $4::bigint[], $5::boolean[])
       ON CONFLICT (stream_id, payment_id) DO UPDATE
       SET order_id = EXCLUDED.order_id, amount_cents = EXCLUDED.amount_cents, refunded = EXCLUDED.refunded`,
      [streamId, entries.map(([id]) => id), entries.map(([, p]) => p.orderId), entries.map(([, p]) => p.amountCents), entries.map(([, p]) => p.refunded)],
    );
  },
};
