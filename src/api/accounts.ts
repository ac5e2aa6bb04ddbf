import { Router } from 'express';
import { z } from 'zod';
import { accountDecider, accountStreamId, type AccountCommand, type AccountState } from '../domain/account';
import { executeAccountCommand } from '../activities/paymentActivities';
import { foldRecorded, readStream, WrongExpectedVersion, type Queryable } from '../eventstore';
import { ApiError } from './problem';
import { apiErrorFromDomain } from './products';
import { commandIdOf, pathId } from './requestContext';
import { parseInput } from './validation';

// Types here, ranges (1 to 1e9 cents) in the decider: a 400 is malformed, a 422 breaks a rule.
const amountBody = z.object({ amountCents: z.number().int().safe() }).strict();

function accountView(customerId: string, state: AccountState, version: number) {
  const { balanceCents, totalDepositsCents, totalWithdrawalsCents, transactionCount } = state;
  return { customerId, balanceCents, totalDepositsCents, totalWithdrawalsCents, transactionCount, version };
}

/** Customer wallets: event-sourced, optimistic concurrency, retried on conflict. */
export function accountsRouter(db: Queryable): Router {
  const router = Router();

  async function run(command: AccountCommand, commandId: string) {
    try {
      return await executeAccountCommand(db, command, commandId, commandId);
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
      const customerId = pathId(req, 'customerId');
      const { amountCents } = parseInput(amountBody, req.body);
      const result = await run({ type, customerId, amountCents }, commandIdOf(req));
      res.json(accountView(customerId, result.state, result.version));
    });
  }

  router.get('/accounts/:customerId', async (req, res) => {
    const customerId = pathId(req, 'customerId');
    const events = await readStream(db, accountStreamId(customerId));
    if (events.length === 0) throw new ApiError(404, 'ACCOUNT_NOT_FOUND', 'There is no such account.');
    res.json(accountView(customerId, foldRecorded(accountDecider, events), events[events.length - 1]!.version));
  });

  router.get('/accounts/:customerId/events', async (req, res) => {
    const customerId = pathId(req, 'customerId');
    const events = await readStream(db, accountStreamId(customerId));
    if (events.length === 0) throw new ApiError(404, 'ACCOUNT_NOT_FOUND', 'There is no such account.');
    res.json({ customerId, version: events[events.length - 1]!.version, events });
  });

  return router;
}
