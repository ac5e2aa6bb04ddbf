import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { clientCommandId } from '../domain/commandIds';
import { accountDecider, accountStreamId, type AccountCommand, type AccountState } from '../domain/account';
import { executeAccountCommand } from '../application/accounts';
import { commandMetadata } from '../application/commandMetadata';
import { WrongExpectedVersion, type Queryable, type TransactionalDb } from '../eventstore';
import { assertCustomerAccess, signedIn } from './access';
import { ACCOUNT_SUMMARY, type AccountSummaryRow } from '../projections/readModels';
import { ApiError } from './problem';
import { apiErrorFromDomain } from './products';
import { commandIdOf, pathId } from './requestContext';
import { consistencyQuery, readAtLeast, type ReadWaits } from './readConsistency';
import { parseInput } from './validation';
import { readStream } from '../application/eventStore';
import { foldRecorded } from '../application/foldStream';

// Types here, ranges (1 to 1e9 cents) in the decider: a 400 is malformed, a 422 breaks a rule.
const amountBody = z.object({ amountCents: z.number().int().safe() }).strict();

function accountView(customerId: string, state: AccountState, version: number) {
  const { balanceCents, totalDepositsCents, totalWithdrawalsCents, transactionCount } = state;
  return { customerId, balanceCents, totalDepositsCents, totalWithdrawalsCents, transactionCount, version };
}

/** Customer wallets: event-sourced, optimistic concurrency, retried on conflict. */
async function readAccountSummary(db: Queryable, customerId: string) {
  const { rows } = await db.query<AccountSummaryRow>('SELECT * FROM account_summary WHERE customer_id = $1', [customerId]);
  const row = rows[0];
  if (!row) return undefined;
  return {
    customerId,
    balanceCents: Number(row.balance_cents),
    totalDepositsCents: Number(row.total_deposits_cents),
    totalWithdrawalsCents: Number(row.total_withdrawals_cents),
    transactionCount: row.transaction_count,
    version: Number(row.version),
  };
}

const accountNotFound = () => new ApiError(404, 'ACCOUNT_NOT_FOUND', 'There is no such account.');

export function accountsRouter(db: TransactionalDb, reads: ReadWaits): Router {
  const router = Router();
  router.use('/accounts', signedIn);

  /** The path's customer id, once the caller may see that account. */
  function accessibleCustomerId(req: Request, res: Response): string {
    const customerId = pathId(req, 'customerId');
    assertCustomerAccess(res, customerId, accountNotFound);
    return customerId;
  }

  async function run(command: AccountCommand, commandId: string) {
    try {
      return await executeAccountCommand(db, command, commandMetadata(clientCommandId(commandId), commandId), { skipIfCommandStored: true });
    } catch (err) {
      if (err instanceof WrongExpectedVersion) {
        throw new ApiError(409, 'CONCURRENT_UPDATE', 'The account changed too often while this was decided. Try again.', {}, { 'Retry-After': '1' });
      }
      throw apiErrorFromDomain(err);
    }
  }

  for (const [path, type] of [
    ['deposits', 'Deposit'],
    ['withdrawals', 'Withdraw'],
  ] as const) {
    router.post(`/accounts/:customerId/${path}`, async (req, res) => {
      const customerId = accessibleCustomerId(req, res);
      const { amountCents } = parseInput(amountBody, req.body);
      const result = await run({ type, customerId, amountCents }, commandIdOf(req));
      res.json(accountView(customerId, result.state, result.version));
    });
  }

  // The account_summary model; ?minVersion=N waits for it; ?consistency=strong folds the stream.
  router.get('/accounts/:customerId', async (req, res) => {
    const customerId = accessibleCustomerId(req, res);
    const query = parseInput(consistencyQuery, req.query, 'query');
    const { minVersion } = query;
    if (query.consistency === 'strong') {
      const events = await readStream(db, accountStreamId(customerId));
      if (events.length === 0) throw accountNotFound();
      res.json(accountView(customerId, foldRecorded(accountDecider, events), events[events.length - 1]!.version));
      return;
    }
    const summary = await readAtLeast(
      () => readAccountSummary(db, customerId),
      minVersion === undefined ? undefined : (row) => (row?.version ?? 0) >= minVersion,
      reads.forRequest(res, ACCOUNT_SUMMARY, accountStreamId(customerId)),
      (row) => ({ minVersion, currentVersion: row?.version ?? 0 }),
    );
    if (!summary) throw accountNotFound();
    res.setHeader('ETag', `"${summary.version}"`).json(summary);
  });

  router.get('/accounts/:customerId/events', async (req, res) => {
    const customerId = accessibleCustomerId(req, res);
    const events = await readStream(db, accountStreamId(customerId));
    if (events.length === 0) throw accountNotFound();
    res.json({ customerId, version: events[events.length - 1]!.version, events });
  });

  return router;
}
