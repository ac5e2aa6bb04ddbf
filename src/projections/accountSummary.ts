import { ACCOUNT_STREAM_TYPE, accountStreams, evolveAccount, initialAccountState, type AccountEvent, type AccountTotals } from '../domain/account';
import type { Queryable } from '../eventstore';
import { aggregateIdOf, asEvent, foldOnto } from './streamFold';
import type { Projection } from './types';

/** The `account_summary` read model: its projection, and the account's view the API answers. */
export const ACCOUNT_SUMMARY = 'account_summary';

/** A row of the `account_summary` read model (bigints arrive as strings). */
export interface AccountSummaryRow {
  customer_id: string;
  balance_cents: string;
  total_deposits_cents: string;
  total_withdrawals_cents: string;
  transaction_count: number;
  version: string;
}

type AccountCounters = Omit<AccountTotals, 'customerId'>;

/** A row's counters as numbers. */
function countersOf(row: AccountSummaryRow): AccountCounters {
  return {
    balanceCents: Number(row.balance_cents),
    totalDepositsCents: Number(row.total_deposits_cents),
    totalWithdrawalsCents: Number(row.total_withdrawals_cents),
    transactionCount: row.transaction_count,
  };
}

/**
 * A wallet's counters, folded with the account decider's evolve. The payments map is not kept:
 * no counter depends on it, and the write side has it.
 */
export const accountSummaryProjection: Projection = {
  name: ACCOUNT_SUMMARY,
  streamTypes: [ACCOUNT_STREAM_TYPE],
  tables: ['account_summary'],
  async applyStream(tx, events) {
    const customerId = aggregateIdOf(accountStreams, events[0]!.streamId);
    const { rows } = await tx.query<AccountSummaryRow>('SELECT * FROM account_summary WHERE customer_id = $1 FOR UPDATE', [customerId]);
    const row = rows[0];
    const start = row ? { ...initialAccountState, customerId, ...countersOf(row) } : initialAccountState;
    const folded = await foldOnto(tx, events, row ? Number(row.version) : 0, start, (s, e) => evolveAccount(s, asEvent<AccountEvent>(e)));
    if (!folded) return;
    const { state, last } = folded;
    await tx.query(
      `INSERT INTO account_summary (customer_id, balance_cents, total_deposits_cents, total_withdrawals_cents, transaction_count, version, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (customer_id) DO UPDATE SET
         balance_cents = EXCLUDED.balance_cents, total_deposits_cents = EXCLUDED.total_deposits_cents,
         total_withdrawals_cents = EXCLUDED.total_withdrawals_cents, transaction_count = EXCLUDED.transaction_count,
         version = EXCLUDED.version, updated_at = EXCLUDED.updated_at`,
      [customerId, state.balanceCents, state.totalDepositsCents, state.totalWithdrawalsCents, state.transactionCount, last.version, last.occurredAt],
    );
  },
};

/** An account as the API shows it, whether from this model, a command's answer or the stream's fold. */
export function accountView(customerId: string, counters: AccountCounters, version: number) {
  const { balanceCents, totalDepositsCents, totalWithdrawalsCents, transactionCount } = counters;
  return { customerId, balanceCents, totalDepositsCents, totalWithdrawalsCents, transactionCount, version };
}

export type AccountView = ReturnType<typeof accountView>;

/** The account as the model has folded it; undefined before its first event is projected. */
export async function readAccountSummary(db: Queryable, customerId: string): Promise<AccountView | undefined> {
  const { rows } = await db.query<AccountSummaryRow>('SELECT * FROM account_summary WHERE customer_id = $1', [customerId]);
  const row = rows[0];
  return row ? accountView(customerId, countersOf(row), Number(row.version)) : undefined;
}

/** Every account the model knows, by customer id, at most `limit`: the operator's list of wallets. */
export async function listAccountSummaries(db: Queryable, limit: number): Promise<AccountView[]> {
  const { rows } = await db.query<AccountSummaryRow>('SELECT * FROM account_summary ORDER BY customer_id LIMIT $1', [limit]);
  return rows.map((row) => accountView(row.customer_id, countersOf(row), Number(row.version)));
}
