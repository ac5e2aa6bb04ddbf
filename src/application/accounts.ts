import { ACCOUNT_SNAPSHOT_SCHEMA, ACCOUNT_STREAM_TYPE, accountDecider, accountStreamId, type AccountCommand } from '../domain/account';
import { type EventMetadata, type TransactionalDb } from '../eventstore';
import { serverIdsAndClock } from './commandMetadata';
import { accountPaymentRows } from './accountPaymentRows';
import { handleSnapshottedCommand } from './handleCommand';
import { countedCommand } from '../metrics';

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
export function executeAccountCommand(db: TransactionalDb, command: AccountCommand, metadata: EventMetadata, options: { skipIfCommandStored?: boolean } = {}) {
  return countedCommand(command.type, () =>
    handleSnapshottedCommand(db, accountDecider, { id: accountStreamId(command.customerId), type: ACCOUNT_STREAM_TYPE }, command, {
      metadata,
      ...serverIdsAndClock,
      maxAttempts: ACCOUNT_COMMAND_ATTEMPTS,
      entries: accountPaymentRows,
      snapshotSchema: ACCOUNT_SNAPSHOT_SCHEMA,
      ...options,
    }),
  );
}
