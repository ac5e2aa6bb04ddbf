import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Request, RequestHandler, Response } from 'express';
import { z } from 'zod';
import type { TransactionalDb } from '../eventstore';
import { healOrder } from '../operations/healOrder';
import { claimAction, findAction, finishAction, listActions, recordAction, releaseAction, type OperatorAction } from '../operations/operatorActions';
import { actorAnswersOrWhy, listOrders, orderStory, readSideStatus, streamStory } from '../operations/operatorViews';
import { retryDeadLetter, type Projection } from '../projections';
import { listAccountSummaries } from '../projections/accountSummary';
import { listCatalog } from '../projections/catalog';
import { ORDER_STATUSES } from '../domain/order';
import { idSchema, textSchema } from '../workflows/orderContract';
import { adminOnly, principalOf } from './access';
import {
  accountAnswer,
  catalogProductAnswer,
  deadLetterAnswer,
  orderLineAnswer,
  orderListItemAnswer,
  orderStateAnswer,
  projectionStatusAnswer,
} from './answers';
import { decodeCursor, encodeCursor } from './cursor';
import type { OrderActorSettings, OrderGateway } from './orderGateway';
import { ApiError } from './problem';
import { operatorCommandKey } from '../domain/commandIds';
import { commandIdOf, idFromIdempotencyKey } from './requestContext';
import type { Handler, RouteTable } from './routes';
import { parseInput } from './validation';

/*
 * The operator console: a static page at /console (src/api/console/, no framework, no CDN) and
 * the JSON it reads under /admin, from the operator views (src/operations/operatorViews.ts) the
 * command line shows as text. Reads answer an ETag of their body, so the page polls cheaply
 * (If-None-Match → 304) and shows a checkout's steps as they land. Actions (cancel, ship, heal, retry
 * a dead letter) need an Idempotency-Key and a reason; each is recorded in `operator_actions`.
 */

export interface ConsoleRouteDeps {
  db: TransactionalDb;
  client: Client;
  gateway: OrderGateway;
  actors: OrderActorSettings;
  projections: readonly Projection[];
  /** Where the console links workflows to: the Temporal Web UI and the namespace. */
  temporal: { uiUrl: string; namespace: string };
}

/**
 * A date (`2026-11-30`) or an ISO 8601 instant; a day that does not exist (`02-30`) is refused here,
 * not by Postgres, and so is what Postgres cannot read: a year orders cannot have been created in
 * (like decodeCursor: Postgres has no year 0) and an offset past ±15:59.
 */
const instant = z
  .string()
  .regex(
    /^(19[7-9]\d|[2-9]\d{3})-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-](0\d|1[0-5]):[0-5]\d)?)?$/,
    'a date from 1970 to 9999 (2026-11-30) or an ISO 8601 instant',
  )
  .refine((s) => {
    const day = new Date(`${s.slice(0, 10)}T00:00:00Z`);
    return !Number.isNaN(day.getTime()) && day.toISOString().startsWith(s.slice(0, 10)) && !Number.isNaN(Date.parse(s));
  }, 'not a real date');

const ordersQuery = z
  .object({
    customerId: idSchema.optional(),
    status: z.enum(ORDER_STATUSES).optional(),
    from: instant.optional(),
    to: instant.optional(),
    stuck: z.enum(['true', 'false']).optional(),
    cursor: z.string().max(400).optional(),
    limit: z.coerce.number().int().min(1).max(100).default(20),
  })
  .strict();
const orderParams = z.object({ orderId: idSchema });
const streamParams = z.object({ streamId: z.string().regex(/^[a-z]+-[A-Za-z0-9_.:-]{1,128}$/, 'a stream id such as stock-<productId>') });
const actionsQuery = z.object({ target: z.string().max(200).optional(), limit: z.coerce.number().int().min(1).max(500).default(50) }).strict();

const reason = textSchema(1, 500);
const actionBody = z.discriminatedUnion('action', [
  z.object({ action: z.literal('cancel'), orderId: idSchema, reason }).strict(),
  z.object({ action: z.literal('ship'), orderId: idSchema, reason }).strict(),
  z.object({ action: z.literal('heal'), orderId: idSchema, reason }).strict(),
  z.object({ action: z.literal('retry-dead-letter'), deadLetterId: z.number().int().min(1).safe(), reason }).strict(),
]);
type ActionRequest = z.infer<typeof actionBody>;

// The answers: the operator views (src/operations) as the console reads them.
const int = () => z.number().int();
const settingsAnswer = z.object({ temporalUiUrl: z.string(), namespace: z.string() });
const listedOrderAnswer = orderListItemAnswer.extend({
  customerId: z.string(),
  stuck: z.array(z.string()).optional().describe('With stuck=true: why check:invariants calls it stuck.'),
});
const changeAnswer = z.object({ path: z.string(), before: z.unknown(), after: z.unknown() });
const timelineEntryAnswer = z.object({
  version: int(),
  globalPosition: int(),
  type: z.string(),
  data: z.unknown(),
  metadata: z.record(z.string(), z.unknown()),
  occurredAt: z.string(),
  recordedAt: z.string(),
  stateAfter: z.unknown().describe("The aggregate's state after this event."),
  changed: z.array(changeAnswer),
});
const recordedCommandAnswer = z.object({
  commandId: z.string(),
  origin: z.enum(['client', 'internal']),
  outcome: z.literal('accepted'),
  versions: z.array(int()),
  events: z.array(z.string()),
  at: z.string(),
  operator: z.string().optional(),
  reason: z.string().optional(),
});
const checkoutAttemptAnswer = z.object({
  attempt: int(),
  workflowId: z.string(),
  correlationId: z.string(),
  placedVersion: int(),
  placedAt: z.string(),
  totalCents: int(),
  lines: z.array(orderLineAnswer),
  steps: z.array(
    z.object({
      kind: z.enum(['step', 'compensation']),
      streamId: z.string(),
      version: int(),
      type: z.string(),
      data: z.unknown(),
      at: z.string(),
      workflowId: z.string().optional(),
    }),
  ),
  outcome: z.discriminatedUnion('status', [
    z.object({ status: z.literal('in-flight') }),
    z.object({ status: z.literal('succeeded'), version: int(), at: z.string() }),
    z.object({ status: z.literal('failed'), code: z.string(), message: z.string(), compensations: z.array(z.string()), version: int(), at: z.string() }),
  ]),
  cancelled: z.object({ reason: z.string(), compensations: z.array(z.string()), version: int(), at: z.string() }).optional(),
});
const operatorActionAnswer = z.object({
  idempotencyKey: z.string(),
  action: z.enum(['cancel', 'ship', 'heal', 'retry-dead-letter']),
  target: z.string(),
  reason: z.string(),
  operator: z.string(),
  requestedAt: z.string(),
  finishedAt: z.string().nullable(),
  outcome: z
    .union([
      z.object({ status: z.literal('done'), answer: z.unknown().describe("The action's answer: the order command's, the heal report, the retry's.") }),
      z.object({
        status: z.literal('refused'),
        problem: z.object({ status: int(), code: z.string(), message: z.string(), extra: z.record(z.string(), z.unknown()) }),
      }),
    ])
    .nullable()
    .describe('What came of it; null while it runs or if it was cut off.'),
});
const storyAnswer = z.object({
  orderId: z.string(),
  streamId: z.string(),
  exists: z.boolean(),
  version: int(),
  state: orderStateAnswer,
  timeline: z.array(timelineEntryAnswer),
  commands: z.array(recordedCommandAnswer),
  checkouts: z.array(checkoutAttemptAnswer),
  readModel: z.object({
    verdict: z.enum(['agrees', 'lagging', 'differs', 'missing']),
    rowVersion: int().nullable(),
    // As stored, not held to the fold's shape: a row that differs from the fold is what this view exists to show.
    row: z.record(z.string(), z.unknown()).nullable(),
    differences: z.array(changeAnswer),
  }),
  workflows: z.object({ actor: z.string(), sagas: z.array(z.string()) }),
  actions: z.array(operatorActionAnswer),
  actorAnswers: z
    .object({
      list: z
        .array(
          z.object({
            commandId: z.string().optional(),
            command: z.string(),
            outcome: z.enum(['accepted', 'rejected']),
            code: z.string().optional(),
            message: z.string().optional(),
            at: z.string().optional(),
          }),
        )
        .nullable(),
      error: z.string().nullable(),
    })
    .describe('The commands the actor answered in its current run, from Temporal; or, when Temporal cannot tell, why (error).'),
});
const streamAnswer = z.object({
  streamId: z.string(),
  streamType: z.string(),
  aggregateId: z.string(),
  version: int(),
  state: z.unknown().describe('The state after the last event.'),
  timeline: z.array(timelineEntryAnswer),
  omitted: int().describe('How many older events the timeline leaves out.'),
});
const readSideAnswer = z.object({ projections: z.array(projectionStatusAnswer), deadLetters: z.array(deadLetterAnswer) });

/** What a read answers when the page's If-None-Match names its current ETag. */
const NOT_MODIFIED = { description: 'Not modified since the ETag sent in If-None-Match; no body.', empty: true, headers: ['ETag'] } as const;

/** Answers `body` with an ETag of its content; a request that already has it gets 304 and no body. */
function sendTagged(req: Request, res: Response, body: unknown): void {
  const json = JSON.stringify(body);
  const tag = `W/"${createHash('sha256').update(json).digest('base64url').slice(0, 27)}"`;
  res.setHeader('ETag', tag);
  if (req.get('If-None-Match') === tag) {
    res.status(304).end();
    return;
  }
  res.type('application/json').send(json);
}

const settings: Handler<ConsoleRouteDeps> = (_req, res, { temporal }) => {
  res.json({ temporalUiUrl: temporal.uiUrl, namespace: temporal.namespace });
};

const orders: Handler<ConsoleRouteDeps> = async (req, res, { db, client }) => {
  const query = parseInput(ordersQuery, req.query, 'query');
  const page = await listOrders(
    db,
    {
      customerId: query.customerId,
      status: query.status,
      from: query.from,
      to: query.to,
      stuck: query.stuck === 'true',
      limit: query.limit,
      after: query.cursor === undefined ? undefined : decodeCursor(query.cursor),
    },
    { client },
  );
  sendTagged(req, res, { orders: page.orders, nextCursor: page.next ? encodeCursor(page.next) : null });
};

// The story, the operator actions on the order, and the answers its actor gave (from Temporal:
// if Temporal cannot tell, the rest of the story is still worth showing, with the reason).
const story: Handler<ConsoleRouteDeps> = async (req, res, { db, client }) => {
  const { orderId } = parseInput(orderParams, req.params, 'path');
  const [found, actions, answers] = await Promise.all([
    orderStory(db, orderId),
    listActions(db, { target: `order-${orderId}`, limit: 50 }),
    actorAnswersOrWhy(client, orderId),
  ]);
  if (!found.exists) throw new ApiError(404, 'ORDER_NOT_FOUND', 'There is no such order.');
  sendTagged(req, res, { ...found, actions, actorAnswers: answers });
};

const stream: Handler<ConsoleRouteDeps> = async (req, res, { db }) => {
  const { streamId } = parseInput(streamParams, req.params, 'path');
  const found = await streamStory(db, streamId);
  if (!found || found.version === 0) throw new ApiError(404, 'STREAM_NOT_FOUND', `There is no stream ${streamId} of a type the console reads.`);
  sendTagged(req, res, found);
};

const products: Handler<ConsoleRouteDeps> = async (req, res, { db }) => sendTagged(req, res, { products: await listCatalog(db) });
const customers: Handler<ConsoleRouteDeps> = async (req, res, { db }) => sendTagged(req, res, { customers: await listAccountSummaries(db, 500) });
const readSide: Handler<ConsoleRouteDeps> = async (req, res, { db, projections }) => sendTagged(req, res, await readSideStatus(db, projections));
const actions: Handler<ConsoleRouteDeps> = async (req, res, { db }) => {
  res.json({ actions: await listActions(db, parseInput(actionsQuery, req.query, 'query')) });
};

/** The problem an action met, as recorded: thrown again for a repeat of the same request. */
type RecordedOutcome =
  { status: 'done'; answer: unknown } | { status: 'refused'; problem: { status: number; code: string; message: string; extra: Record<string, unknown> } };

/**
 * The order command's key for a console action: in the operators' namespace (no client key can be
 * `operator:…`), and the same for the same admin key, so a retried action is the same command.
 */
export const consoleOrderCommandKey = (key: string): string => operatorCommandKey('console', idFromIdempotencyKey('console', key));

/** What an action does: its answer, or an ApiError a repeat answers again. */
async function perform(deps: ConsoleRouteDeps, request: ActionRequest, key: string, operator: string): Promise<unknown> {
  switch (request.action) {
    case 'cancel':
      return deps.gateway.send(request.orderId, 'CancelOrder', { reason: request.reason }, consoleOrderCommandKey(key));
    case 'ship':
      return deps.gateway.send(request.orderId, 'MarkShipped', {}, consoleOrderCommandKey(key));
    case 'heal': {
      // Who and why also go where Temporal shows them: the old run's termination, the new run's memo.
      const report = await healOrder({ db: deps.db, client: deps.client, actors: deps.actors }, request.orderId, { operator, reason: request.reason });
      if (report.outcome === 'refused') throw new ApiError(409, 'HEAL_REFUSED', report.message, { report });
      return report;
    }
    case 'retry-dead-letter': {
      const result = await retryDeadLetter(deps.db, request.deadLetterId, deps.projections);
      if (result.outcome === 'not_found') throw new ApiError(404, 'DEAD_LETTER_NOT_FOUND', 'There is no such dead letter.');
      if (result.outcome === 'failed') {
        throw new ApiError(409, 'DEAD_LETTER_RETRY_FAILED', `The handler failed again: ${result.deadLetter.error}`, { deadLetter: result.deadLetter });
      }
      return result;
    }
  }
}

/** A problem that says to try again later, not that the action cannot be done. */
const isRetryable = (err: ApiError): boolean =>
  err.status >= 500 || err.status === 429 || Object.keys(err.headers).some((name) => name.toLowerCase() === 'retry-after');

const targetOf = (request: ActionRequest): string =>
  request.action === 'retry-dead-letter' ? `dead-letter-${request.deadLetterId}` : `order-${request.orderId}`;

function answerRecorded(res: Response, action: OperatorAction, replayed: boolean): void {
  const outcome = action.outcome as RecordedOutcome;
  if (outcome.status === 'refused') {
    const { status, code, message, extra } = outcome.problem;
    throw new ApiError(status, code, message, { ...extra, action: { ...action, outcome: undefined }, replayed });
  }
  res.json({ action, replayed });
}

// Once per Idempotency-Key: recorded and claimed first (who, when, why), performed, its outcome
// recorded. A repeat answers the recorded outcome; one while the first still runs (claimed, no
// outcome yet) is refused with 409 ACTION_IN_PROGRESS instead of acting a second time; one cut
// off before its outcome (its claim released, or older than the lease) is performed again, which
// every action allows (the order command carries a key formed from it; heal and retry check first).
const act: Handler<ConsoleRouteDeps> = async (req, res, deps) => {
  if (req.get('Idempotency-Key') === undefined) {
    throw new ApiError(400, 'IDEMPOTENCY_KEY_REQUIRED', 'An operator action needs an Idempotency-Key, so that a retried request acts once.');
  }
  const key = commandIdOf(req);
  const request = parseInput(actionBody, req.body);
  const asked = { idempotencyKey: key, action: request.action, target: targetOf(request), reason: request.reason };
  const { fresh, action } = await recordAction(deps.db, { ...asked, operator: principalOf(res).sub });
  if (action.action !== asked.action || action.target !== asked.target || action.reason !== asked.reason) {
    throw new ApiError(422, 'IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used for another action.');
  }
  if (action.outcome !== null) return answerRecorded(res, action, true);
  if (!fresh && !(await claimAction(deps.db, key))) {
    const now = await findAction(deps.db, key);
    if (now && now.outcome !== null) return answerRecorded(res, now, true);
    throw new ApiError(409, 'ACTION_IN_PROGRESS', 'An action with this Idempotency-Key is still being performed; ask again shortly for its outcome.');
  }
  let outcome: RecordedOutcome;
  try {
    outcome = { status: 'done', answer: await perform(deps, request, key, action.operator) };
  } catch (err) {
    // A refusal is the action's outcome; a passing problem (Temporal down, the order busy: a 5xx, a 429,
    // anything with Retry-After) is not, or a retry with the key would replay it forever: it is tried again.
    if (!(err instanceof ApiError) || isRetryable(err)) {
      await releaseAction(deps.db, key);
      throw err;
    }
    outcome = { status: 'refused', problem: { status: err.status, code: err.code, message: err.message, extra: err.extra } };
  }
  const finished = await finishAction(deps.db, key, outcome);
  answerRecorded(res, finished.action, !finished.stored);
};

/** The console's data: orders, streams, the read side, and the recorded operator actions. */
export const consoleRoutes: RouteTable<ConsoleRouteDeps> = {
  guard: { paths: ['/admin'], by: adminOnly },
  routes: [
    {
      method: 'get',
      path: '/admin/console/settings',
      handle: settings,
      contract: {
        summary: "The console's settings: the Temporal Web UI it links to.",
        answers: { 200: { description: 'The settings.', body: settingsAnswer } },
        problems: {},
      },
    },
    {
      method: 'get',
      path: '/admin/orders',
      handle: orders,
      contract: {
        summary: 'Search all orders (by customer, status, creation time); stuck=true keeps those check:invariants calls stuck.',
        query: ordersQuery,
        answers: {
          200: {
            description: 'A page of orders, newest first; ETag of the page.',
            headers: ['ETag'],
            body: z.object({ orders: z.array(listedOrderAnswer), nextCursor: z.string().nullable() }),
          },
          304: NOT_MODIFIED,
        },
        problems: { 400: ['INVALID_CURSOR'] },
      },
    },
    {
      method: 'get',
      path: '/admin/orders/:orderId/story',
      handle: story,
      contract: {
        summary: "An order's story: events with the state after each, commands, checkout attempts, read model beside the fold, operator actions.",
        params: orderParams,
        answers: {
          200: { description: 'The story; ETag of it (If-None-Match answers 304 while nothing changed).', headers: ['ETag'], body: storyAnswer },
          304: NOT_MODIFIED,
        },
        problems: { 404: ['ORDER_NOT_FOUND'] },
      },
    },
    {
      method: 'get',
      path: '/admin/streams/:streamId',
      handle: stream,
      contract: {
        summary: "A stream's events (order, stock, account, product) with the state after each.",
        params: streamParams,
        answers: { 200: { description: 'The stream; ETag of it.', headers: ['ETag'], body: streamAnswer }, 304: NOT_MODIFIED },
        problems: { 404: ['STREAM_NOT_FOUND'] },
      },
    },
    {
      method: 'get',
      path: '/admin/products',
      handle: products,
      contract: {
        summary: 'Every product with its stock, from the catalog model.',
        answers: { 200: { description: 'The products.', headers: ['ETag'], body: z.object({ products: z.array(catalogProductAnswer) }) }, 304: NOT_MODIFIED },
        problems: {},
      },
    },
    {
      method: 'get',
      path: '/admin/customers',
      handle: customers,
      contract: {
        summary: 'Every wallet, from the account_summary model.',
        answers: { 200: { description: 'The wallets.', headers: ['ETag'], body: z.object({ customers: z.array(accountAnswer) }) }, 304: NOT_MODIFIED },
        problems: {},
      },
    },
    {
      method: 'get',
      path: '/admin/read-side',
      handle: readSide,
      contract: {
        summary: 'Projections with checkpoint, lag and rebuild progress, and the parked events.',
        answers: { 200: { description: 'The read side.', headers: ['ETag'], body: readSideAnswer }, 304: NOT_MODIFIED },
        problems: {},
      },
    },
    {
      method: 'get',
      path: '/admin/actions',
      handle: actions,
      contract: {
        summary: 'What operators did, newest first.',
        query: actionsQuery,
        answers: { 200: { description: 'The actions.', body: z.object({ actions: z.array(operatorActionAnswer) }) } },
        problems: {},
      },
    },
    {
      method: 'post',
      path: '/admin/actions',
      handle: act,
      contract: {
        summary: 'An operator action (cancel, ship, heal an order; retry a dead letter), once per Idempotency-Key, recorded with who and why.',
        body: actionBody,
        headers: ['Idempotency-Key'],
        answers: {
          200: {
            description: 'The action as recorded, with its outcome; `replayed` when the key had already acted.',
            body: z.object({ action: operatorActionAnswer, replayed: z.boolean() }),
          },
        },
        problems: {
          400: ['IDEMPOTENCY_KEY_REQUIRED', 'INVALID_COMMAND'],
          404: ['ORDER_NOT_FOUND', 'DEAD_LETTER_NOT_FOUND'],
          409: [
            'ACTION_IN_PROGRESS',
            'ORDER_CLOSED',
            'ORDER_NOT_CONFIRMED',
            'COMPENSATION_REQUIRED',
            'COMMAND_FAILED',
            'HEAL_REFUSED',
            'DEAD_LETTER_RETRY_FAILED',
          ],
          422: ['IDEMPOTENCY_KEY_REUSED', 'CANCELLATION_REASON_REQUIRED'],
          503: ['COMMAND_TIMEOUT', 'ORDER_UNAVAILABLE', 'ORDER_RECOVERING', 'TEMPORAL_UNAVAILABLE'],
        },
      },
    },
  ],
};

/** The page's own files: scripts and styles from this server only, so it works offline and nothing else runs in it. */
const PAGE_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const PAGE_DIR = path.join(__dirname, 'console');
/** The page's files besides index.html, by name, with their media types: nothing else in the folder is served. */
const PAGE_ASSETS: Record<string, string> = { 'console.css': 'text/css', 'console.js': 'text/javascript' };
const pagePolicy: RequestHandler = (_req, res, next) => {
  res.setHeader('Content-Security-Policy', PAGE_POLICY);
  next();
};

/** GET /console: the page, open to all (it asks for the token and sends it with every /admin read). */
export const consolePageRoutes: RouteTable<undefined> = {
  routes: [
    {
      method: 'get',
      path: '/console',
      guard: pagePolicy,
      handle: (_req, res) => res.sendFile(path.join(PAGE_DIR, 'index.html')),
      contract: {
        summary: 'The operator console: a page that asks for an admin token and reads the /admin routes with it.',
        answers: { 200: { description: 'The page.', mediaType: 'text/html' } },
        problems: {},
      },
    },
    {
      method: 'get',
      path: '/console/:asset',
      guard: pagePolicy,
      handle: (req, res) => {
        const type = Object.hasOwn(PAGE_ASSETS, String(req.params.asset)) ? PAGE_ASSETS[String(req.params.asset)] : undefined;
        if (!type) throw new ApiError(404, 'ROUTE_NOT_FOUND', `No file ${String(req.params.asset)} under /console.`);
        res.type(type);
        return new Promise<void>((resolve, reject) => res.sendFile(path.join(PAGE_DIR, String(req.params.asset)), (err) => (err ? reject(err) : resolve())));
      },
      contract: {
        summary: "The console page's script or style sheet.",
        params: z.object({ asset: z.enum(Object.keys(PAGE_ASSETS)).describe('A file of the page; others are 404.') }),
        answers: { 200: { description: 'The file.', mediaType: [...new Set(Object.values(PAGE_ASSETS))] } },
        problems: { 404: ['ROUTE_NOT_FOUND'] },
      },
    },
  ],
};
