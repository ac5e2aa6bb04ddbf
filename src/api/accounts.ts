import type { Request, Response } from 'express';
import { z } from 'zod';
import { executeAccountCommand } from '../application/accounts';
import { commandMetadata } from '../application/commandMetadata';
import { clientCommandId } from '../domain/commandIds';
import { accountDecider, accountStreamId } from '../domain/account';
import { type TransactionalDb } from '../eventstore';
import { ACCOUNT_SUMMARY, accountView, readAccountSummary } from '../projections/accountSummary';
import { assertCustomerAccess, signedIn } from './access';
import { accountAnswer, recordedEventAnswer } from './answers';
import { sendVersioned } from './etag';
import { ApiError } from './problem';
import { consistencyQuery, READ_WAIT_PROBLEMS, readAtLeast, type ReadWaits } from './readConsistency';
import { commandIdOf, pathId } from './requestContext';
import type { Handler, RouteContract, RouteTable } from './routes';
import { parseInput } from './validation';
import { readStream } from '../application/eventStore';
import { foldRecorded } from '../application/foldStream';

// Types here, ranges (1 to 1e9 cents) in the decider: a 400 is malformed, a 422 breaks a rule.
const amountBody = z.object({ amountCents: z.number().int().safe() }).strict();

export interface AccountRouteDeps {
  db: TransactionalDb;
  reads: ReadWaits;
}

const accountNotFound = () => new ApiError(404, 'ACCOUNT_NOT_FOUND', 'There is no such account.');

/** The path's customer id, once the caller may see that account. */
function accessibleCustomerId(req: Request, res: Response): string {
  const customerId = pathId(req, 'customerId');
  assertCustomerAccess(res, customerId, accountNotFound);
  return customerId;
}

/** A deposit or a withdrawal: event-sourced, optimistic concurrency, retried on conflict. */
function moveMoney(type: 'Deposit' | 'Withdraw'): Handler<AccountRouteDeps> {
  return async (req, res, { db }) => {
    const customerId = accessibleCustomerId(req, res);
    const { amountCents } = parseInput(amountBody, req.body);
    const commandId = commandIdOf(req);
    const result = await executeAccountCommand(db, { type, customerId, amountCents }, commandMetadata(clientCommandId(commandId), commandId), {
      skipIfCommandStored: true,
    });
    res.json(accountView(customerId, result.state, result.version));
  };
}

// The account_summary model; ?minVersion=N waits for it; ?consistency=strong folds the stream.
const getAccount: Handler<AccountRouteDeps> = async (req, res, { db, reads }) => {
  const customerId = accessibleCustomerId(req, res);
  const query = parseInput(consistencyQuery, req.query, 'query');
  if (query.consistency === 'strong') {
    const events = await readStream(db, accountStreamId(customerId));
    if (events.length === 0) throw accountNotFound();
    res.json(accountView(customerId, foldRecorded(accountDecider, events), events[events.length - 1]!.version));
    return;
  }
  const summary = await readAtLeast(
    () => readAccountSummary(db, customerId),
    { version: query.minVersion },
    reads.forRequest(res, ACCOUNT_SUMMARY, accountStreamId(customerId)),
  );
  if (!summary) throw accountNotFound();
  sendVersioned(res, summary.version, summary);
};

const accountEvents: Handler<AccountRouteDeps> = async (req, res, { db }) => {
  const customerId = accessibleCustomerId(req, res);
  const events = await readStream(db, accountStreamId(customerId));
  if (events.length === 0) throw accountNotFound();
  res.json({ customerId, version: events[events.length - 1]!.version, events });
};

function moneyMove(summary: string, problems: RouteContract['problems']): RouteContract {
  return {
    summary,
    body: amountBody,
    headers: ['Idempotency-Key'],
    answers: { 200: { description: 'The account after the move.', body: accountAnswer } },
    problems: { 404: ['ACCOUNT_NOT_FOUND'], 409: ['CONCURRENT_UPDATE'], ...problems },
  };
}

/** Customer wallets. */
export const accountRoutes: RouteTable<AccountRouteDeps> = {
  guard: { paths: ['/accounts'], by: signedIn },
  routes: [
    {
      method: 'post',
      path: '/accounts/:customerId/deposits',
      handle: moveMoney('Deposit'),
      contract: moneyMove('Deposit money. An Idempotency-Key makes a retry count once.', { 422: ['INVALID_AMOUNT'] }),
    },
    {
      method: 'post',
      path: '/accounts/:customerId/withdrawals',
      handle: moveMoney('Withdraw'),
      contract: moneyMove('Withdraw money. An Idempotency-Key makes a retry count once.', { 422: ['INVALID_AMOUNT', 'INSUFFICIENT_FUNDS'] }),
    },
    {
      method: 'get',
      path: '/accounts/:customerId',
      handle: getAccount,
      contract: {
        summary: 'The account, from the read model (?minVersion waits for it) or, with ?consistency=strong, its stream.',
        query: consistencyQuery,
        answers: { 200: { description: 'The balance; from the read model, the ETag is its version.', headers: ['ETag'], body: accountAnswer } },
        problems: { ...READ_WAIT_PROBLEMS, 404: ['ACCOUNT_NOT_FOUND'] },
      },
    },
    {
      method: 'get',
      path: '/accounts/:customerId/events',
      handle: accountEvents,
      contract: {
        summary: "The account's event stream.",
        answers: {
          200: {
            description: 'Every event, oldest first.',
            body: z.object({ customerId: z.string(), version: z.number().int(), events: z.array(recordedEventAnswer) }),
          },
        },
        problems: { 404: ['ACCOUNT_NOT_FOUND'] },
      },
    },
  ],
};
