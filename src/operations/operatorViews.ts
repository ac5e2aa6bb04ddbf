import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { optionalTsToMs } from '@temporalio/common/lib/time';
import { eventsCorrelatedWith, readStream } from '../application/eventStore';
import { accountDecider, accountStreamId, accountStreams } from '../domain/account';
import type { Decider } from '../domain/decider';
import { clientKeyOf, orderCommandIdAsStored } from '../domain/commandIds';
import { isTerminal, orderDecider, orderStreamId, orderStreams, type OrderState } from '../domain/order';
import { productDecider, productStreams } from '../domain/product';
import { stockDecider, stockStreamId, stockStreams } from '../domain/stock';
import type { StreamNames } from '../domain/streamNames';
import type { Queryable, RecordedEvent } from '../eventstore';
import { checkCheckouts, checkOrderWorkflows } from '../invariants';
import { asJson } from '../invariants/types';
import { listDeadLetters, projectionStatuses, type DeadLetter, type Projection, type ProjectionStatus } from '../projections';
import { readOrderSummary, searchOrders, type OrderListItem, type OrderListPosition, type OrderSearch } from '../projections/orderSummary';
import { checkoutIds } from '../workflows/checkout';
import { isWorkflowMissing } from '../temporal';
import { orderWorkflowId } from '../workflows/orderContract';

/*
 * What an operator reads about the service, as data: an order's whole story (its events with the
 * state after each, the commands it took, its checkout attempts across the stock and wallet
 * streams, the read model beside the fold), any stream's story, the order search and the read
 * side. The console (src/api/console.ts) and the command line (`npm run orders`) show the same
 * views, one as HTML, the other as text. Reads only.
 */

/** One difference between two JSON values: where (`items[0].quantity`, `status`), and the two sides. */
export interface Change {
  path: string;
  before: unknown;
  after: unknown;
}

const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/** Every leaf where `before` and `after` differ, compared as stored JSON compares (undefined members vanish). */
export function changesBetween(before: unknown, after: unknown): Change[] {
  const changes: Change[] = [];
  const walk = (a: unknown, b: unknown, path: string) => {
    if (isRecord(a) && isRecord(b)) {
      for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) walk(a[key], b[key], path ? `${path}.${key}` : key);
    } else if (Array.isArray(a) && Array.isArray(b)) {
      for (let i = 0; i < Math.max(a.length, b.length); i++) walk(a[i], b[i], `${path}[${i}]`);
    } else if (JSON.stringify(a) !== JSON.stringify(b)) {
      changes.push({ path: path || '(whole)', before: a ?? null, after: b ?? null });
    }
  };
  walk(asJson(before), asJson(after), '');
  return changes;
}

/** A stored event with the aggregate's state after it and what it changed. */
export interface TimelineEntry {
  version: number;
  globalPosition: number;
  type: string;
  data: unknown;
  metadata: RecordedEvent['metadata'];
  occurredAt: string;
  recordedAt: string;
  stateAfter: unknown;
  changed: Change[];
}

type AnyDecider = Pick<Decider<unknown, unknown, { type: string; data: unknown }>, 'initialState' | 'evolve'>;

/** The fold of `events`, one entry per event: the same `evolve` the actor and the handlers run. */
function timelineOf(decider: AnyDecider, events: readonly RecordedEvent[]): TimelineEntry[] {
  let state = decider.initialState;
  return events.map((e) => {
    const after = decider.evolve(state, { type: e.type, data: e.data });
    const entry: TimelineEntry = {
      version: e.version,
      globalPosition: e.globalPosition,
      type: e.type,
      data: e.data,
      metadata: e.metadata,
      occurredAt: e.occurredAt,
      recordedAt: e.recordedAt,
      stateAfter: asJson(after),
      changed: changesBetween(state, after),
    };
    state = after;
    return entry;
  });
}

/** The aggregates whose streams an operator can read, each with its stream names and decider. */
const AGGREGATES: ReadonlyArray<{ names: StreamNames; decider: AnyDecider }> = [
  { names: orderStreams, decider: orderDecider },
  { names: stockStreams, decider: stockDecider },
  { names: accountStreams, decider: accountDecider },
  { names: productStreams, decider: productDecider },
];

export interface StreamStory {
  streamId: string;
  streamType: string;
  aggregateId: string;
  /** The stream's version: 0 when it does not exist. */
  version: number;
  /** The state after the last event. */
  state: unknown;
  /** The latest events (at most `limit`), oldest first, each with the state after it. */
  timeline: TimelineEntry[];
  /** How many older events the timeline leaves out. */
  omitted: number;
}

/** The stream types `streamStory` knows: order, stock, account, product. */
export const STORY_STREAM_TYPES = AGGREGATES.map((a) => a.names.streamType);

/**
 * A stream's events, each with the state after it, folded with its aggregate's decider; the whole
 * stream is folded, the latest `limit` (default 200) events are shown. Undefined for a stream id
 * of no known type.
 */
export async function streamStory(db: Queryable, streamId: string, options: { limit?: number } = {}): Promise<StreamStory | undefined> {
  const aggregate = AGGREGATES.find((a) => a.names.idOf(streamId) !== undefined);
  if (!aggregate) return undefined;
  const timeline = timelineOf(aggregate.decider, await readStream(db, streamId));
  const limit = options.limit ?? 200;
  const shown = timeline.slice(-limit);
  return {
    streamId,
    streamType: aggregate.names.streamType,
    aggregateId: aggregate.names.idOf(streamId)!,
    version: timeline.length,
    state: timeline.length > 0 ? timeline[timeline.length - 1]!.stateAfter : asJson(aggregate.decider.initialState),
    timeline: shown,
    omitted: timeline.length - shown.length,
  };
}

/** A command the order took, as its stream records it (refusals store nothing; the actor answered those). */
export interface RecordedCommand {
  commandId: string;
  /** `client`: an Idempotency-Key or a signal's id; `internal`: a step the service took (a saga's report, an expiry). */
  origin: 'client' | 'internal';
  outcome: 'accepted';
  /** The versions of the events it stored, and their types. */
  versions: number[];
  events: string[];
  at: string;
  /** Who asked, when the writer recorded it (an operator's action records `operator` and `reason`). */
  operator?: string;
  reason?: string;
}

function commandsOf(events: readonly RecordedEvent[]): RecordedCommand[] {
  const byId = new Map<string, RecordedCommand>();
  for (const e of events) {
    if (typeof e.metadata.commandId !== 'string') continue;
    const commandId = orderCommandIdAsStored(e.metadata.commandId);
    let command = byId.get(commandId);
    if (!command) {
      command = {
        commandId,
        origin: clientKeyOf(commandId) === undefined ? 'internal' : 'client',
        outcome: 'accepted',
        versions: [],
        events: [],
        at: e.occurredAt,
      };
      if (typeof e.metadata.operator === 'string') command.operator = e.metadata.operator;
      if (typeof e.metadata.reason === 'string') command.reason = e.metadata.reason;
      byId.set(commandId, command);
    }
    command.versions.push(e.version);
    command.events.push(e.type);
  }
  return [...byId.values()];
}

/** A step a checkout attempt took on a stock or wallet stream, or one it undid. */
export interface CheckoutStepRecord {
  kind: 'step' | 'compensation';
  streamId: string;
  version: number;
  type: string;
  data: unknown;
  at: string;
  /** The workflow that wrote it (the saga, or an actor undoing it on cancel), when recorded. */
  workflowId?: string;
}

const COMPENSATIONS = new Set(['StockReleased', 'StockReturned', 'PaymentRefunded', 'PaymentVoided']);

export type CheckoutOutcome =
  | { status: 'in-flight' }
  | { status: 'succeeded'; version: number; at: string }
  | { status: 'failed'; code: string; message: string; compensations: string[]; version: number; at: string };

export interface CheckoutAttempt {
  attempt: number;
  /**
   * The workflow that ran the saga: the order's actor since `checkout-in-actor`, its child
   * `checkout-<orderId>-<attempt>` before; as the saga's steps recorded it (the actor's while none has).
   */
  workflowId: string;
  /** The reservation and payment id: what its stock and wallet events are correlated by. */
  correlationId: string;
  placedVersion: number;
  placedAt: string;
  totalCents: number;
  lines: OrderState['items'];
  /** What the saga did and undid on the stock and wallet streams, in the order it was stored. */
  steps: CheckoutStepRecord[];
  outcome: CheckoutOutcome;
  /** A cancellation of the order this attempt confirmed: what it gave back. */
  cancelled?: { reason: string; compensations: string[]; version: number; at: string };
}

async function checkoutAttemptsOf(db: Queryable, orderId: string, events: readonly RecordedEvent[]): Promise<CheckoutAttempt[]> {
  const attempts = new Map<number, CheckoutAttempt>();
  const productIds = new Set<string>();
  let customerId: string | undefined;
  let confirmed: CheckoutAttempt | undefined;
  for (const e of events) {
    const data = e.data as Record<string, unknown>;
    if (e.type === 'OrderCreated') customerId = String(data.customerId);
    if (e.type === 'OrderPlaced') {
      const attempt = Number(data.checkoutAttempt);
      const lines = data.items as OrderState['items'];
      for (const line of lines) productIds.add(line.productId);
      attempts.set(attempt, {
        attempt,
        workflowId: orderWorkflowId(orderId),
        correlationId: checkoutIds(orderId, attempt).reservationId,
        placedVersion: e.version,
        placedAt: e.occurredAt,
        totalCents: Number(data.totalCents),
        lines,
        steps: [],
        outcome: { status: 'in-flight' },
      });
    }
    const attempt = attempts.get(Number(data.attempt));
    if (e.type === 'CheckoutSucceeded' && attempt) {
      attempt.outcome = { status: 'succeeded', version: e.version, at: e.occurredAt };
      confirmed = attempt;
    }
    if (e.type === 'CheckoutFailed' && attempt) {
      attempt.outcome = {
        status: 'failed',
        code: String(data.code),
        message: String(data.message),
        compensations: data.compensations as string[],
        version: e.version,
        at: e.occurredAt,
      };
    }
    if (e.type === 'OrderCancelled' && confirmed && data.previousStatus === 'CONFIRMED') {
      confirmed.cancelled = { reason: String(data.reason), compensations: data.compensations as string[], version: e.version, at: e.occurredAt };
    }
  }
  if (attempts.size === 0) return [];
  const streams = [...[...productIds].map(stockStreamId), ...(customerId ? [accountStreamId(customerId)] : [])];
  const byCorrelation = new Map([...attempts.values()].map((a) => [a.correlationId, a]));
  for (const e of await eventsCorrelatedWith(db, streams, [...byCorrelation.keys()])) {
    byCorrelation.get(String(e.metadata.correlationId))?.steps.push({
      kind: COMPENSATIONS.has(e.type) ? 'compensation' : 'step',
      streamId: e.streamId,
      version: e.version,
      type: e.type,
      data: e.data,
      at: e.occurredAt,
      ...(typeof e.metadata.workflowId === 'string' ? { workflowId: e.metadata.workflowId } : {}),
    });
  }
  for (const attempt of attempts.values()) attempt.workflowId = attempt.steps.find((s) => s.kind === 'step' && s.workflowId)?.workflowId ?? attempt.workflowId;
  return [...attempts.values()];
}

/** A command the actor answered as an update, as the current run's history records it: accepted, or refused with its code. */
export interface ActorAnswer {
  /** The command's id as the client sent it (its Idempotency-Key), or undefined when the update carried none. */
  commandId: string | undefined;
  command: string;
  outcome: 'accepted' | 'rejected';
  /** For a refusal: the stable code and its message. */
  code?: string;
  message?: string;
  at: string | undefined;
}

/**
 * The commands the order's actor answered in its current run, from its Temporal history: refusals
 * store no event, so this is where a refused command (with its code) can be seen. Signals are not
 * answered in the history; commands of earlier runs (before continue-as-new) are not shown.
 * Undefined when Temporal no longer holds the workflow.
 */
export async function actorAnswers(client: Client, orderId: string): Promise<ActorAnswer[] | undefined> {
  let events;
  try {
    events = (await client.workflow.getHandle(orderWorkflowId(orderId)).fetchHistory()).events ?? [];
  } catch (err) {
    if (isWorkflowMissing(err)) return undefined;
    throw err;
  }
  const asked = new Map<string, { command: string; commandId: string | undefined }>();
  const answers: ActorAnswer[] = [];
  for (const event of events) {
    const acceptedUpdate = event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest;
    if (acceptedUpdate?.meta?.updateId) {
      const payload = acceptedUpdate.input?.args?.payloads?.[0];
      const input = payload ? defaultPayloadConverter.fromPayload<{ commandId?: unknown }>(payload) : undefined;
      asked.set(acceptedUpdate.meta.updateId, {
        command: acceptedUpdate.input?.name ?? 'unknown',
        commandId: typeof input?.commandId === 'string' ? input.commandId : undefined,
      });
    }
    const completed = event.workflowExecutionUpdateCompletedEventAttributes;
    if (completed?.meta?.updateId) {
      const request = asked.get(completed.meta.updateId);
      if (!request) continue;
      const failure = completed.outcome?.failure;
      const ms = optionalTsToMs(event.eventTime);
      answers.push({
        ...request,
        outcome: failure ? 'rejected' : 'accepted',
        ...(failure ? { code: failure.applicationFailureInfo?.type ?? 'FAILED', message: failure.message ?? '' } : {}),
        at: ms === undefined ? undefined : new Date(ms).toISOString(),
      });
    }
  }
  return answers;
}

/** `actorAnswers` as a story shows them: the list, or why there is none (the workflow is gone, Temporal did not answer). */
export function actorAnswersOrWhy(client: Client, orderId: string): Promise<{ list: ActorAnswer[] | null; error: string | null }> {
  return actorAnswers(client, orderId).then(
    (list) => ({ list: list ?? null, error: list ? null : 'Temporal no longer holds the workflow.' }),
    (err: Error) => ({ list: null, error: `Temporal did not answer: ${err.message}` }),
  );
}

/** The order_summary row beside the fold of the stream at the row's version. */
export interface ReadModelComparison {
  /** `agrees`: the row is the fold at the stream's version; `lagging`: behind it but equal to the fold at its own version; `differs`: not the fold; `missing`: no row. */
  verdict: 'agrees' | 'lagging' | 'differs' | 'missing';
  rowVersion: number | null;
  row: OrderState | null;
  /** Where the row differs from the fold at the row's version. */
  differences: Change[];
}

function compareReadModel(timeline: readonly TimelineEntry[], row: { state: OrderState; version: number } | undefined): ReadModelComparison {
  if (!row) return { verdict: 'missing', rowVersion: null, row: null, differences: [] };
  const foldAtRow = row.version >= 1 && row.version <= timeline.length ? timeline[row.version - 1]!.stateAfter : undefined;
  const differences = foldAtRow === undefined ? [{ path: 'version', before: timeline.length, after: row.version }] : changesBetween(foldAtRow, row.state);
  const verdict = differences.length > 0 ? 'differs' : row.version < timeline.length ? 'lagging' : 'agrees';
  return { verdict, rowVersion: row.version, row: row.state, differences };
}

export interface OrderStory {
  orderId: string;
  streamId: string;
  /** False when the order has no stream: everything else is empty. */
  exists: boolean;
  version: number;
  /** The fold of the whole stream. */
  state: OrderState;
  timeline: TimelineEntry[];
  commands: RecordedCommand[];
  checkouts: CheckoutAttempt[];
  readModel: ReadModelComparison;
  /** Temporal workflow ids: the actor and each attempt's saga (the console links them to the Web UI). */
  workflows: { actor: string; sagas: string[] };
}

/** Everything the store knows about one order (see the module comment). */
export async function orderStory(db: Queryable, orderId: string): Promise<OrderStory> {
  const streamId = orderStreamId(orderId);
  const events = await readStream(db, streamId);
  const timeline = timelineOf(orderDecider, events);
  const [checkouts, row] = await Promise.all([checkoutAttemptsOf(db, orderId, events), readOrderSummary(db, orderId)]);
  return {
    orderId,
    streamId,
    exists: events.length > 0,
    version: events.length,
    state: (timeline.length > 0 ? timeline[timeline.length - 1]!.stateAfter : asJson(orderDecider.initialState)) as OrderState,
    timeline,
    commands: commandsOf(events),
    checkouts,
    readModel: compareReadModel(timeline, row),
    // Saga workflows of their own: those of orders placed before `checkout-in-actor`.
    workflows: { actor: orderWorkflowId(orderId), sagas: checkouts.map((c) => c.workflowId).filter((id) => id !== orderWorkflowId(orderId)) },
  };
}

/**
 * Why this order is stuck, as check:invariants sees it: the violations of invariants 4 (its actor
 * against its stream: stranded, not answering, disagreeing) and 6 (a PLACED order whose checkout
 * will not end), run on its stream alone. An open order whose actor is gone (terminated, or past
 * retention) is only a note there, yet it takes no command (503 ORDER_UNAVAILABLE) until healed:
 * for an open order that note counts too. Empty: not stuck.
 */
export async function stuckReasons(db: Queryable, client: Client, orderId: string, status: OrderState['status']): Promise<string[]> {
  const filter = { streamIds: [orderStreamId(orderId)] };
  const [workflows, checkouts] = await Promise.all([
    checkOrderWorkflows(db, client, filter, { attempts: 1, readAttempts: 1, callTimeoutMs: 3000 }),
    checkCheckouts(db, client, filter, { callTimeoutMs: 3000 }),
  ]);
  const actorGone = !isTerminal(status) && (workflows.counts.closedWithoutResult ?? 0) + (workflows.counts.workflowNotFound ?? 0) > 0;
  return [...workflows.violations, ...(actorGone ? workflows.notes : []), ...checkouts.violations];
}

export interface OrderQuery extends OrderSearch {
  /** Only orders check:invariants calls stuck (needs a Temporal client); terminal orders are never stuck. */
  stuck?: boolean;
  after?: OrderListPosition;
  limit: number;
}

export type ListedOrder = OrderListItem & { customerId: string; stuck?: string[] };

/** How many orders a stuck search looks at per page at most: each costs a few Temporal calls. */
export const STUCK_SCAN_LIMIT = 200;

/**
 * A page of orders from the order_summary read model, newest first. With `stuck`, only the open
 * orders `stuckReasons` finds something wrong with, each with its reasons; a page then looks at up
 * to STUCK_SCAN_LIMIT orders, and `next` goes on after the last one it looked at.
 */
export async function listOrders(
  db: Queryable,
  query: OrderQuery,
  deps: { client?: Client } = {},
): Promise<{ orders: ListedOrder[]; next: OrderListPosition | null }> {
  const { stuck, after, limit, ...search } = query;
  if (!stuck) return searchOrders(db, search, { limit, after });
  if (!deps.client) throw new Error('listOrders: the stuck filter asks Temporal about each actor; pass a client');
  const client = deps.client;
  const found: ListedOrder[] = [];
  let position = after;
  for (let scanned = 0; scanned < STUCK_SCAN_LIMIT;) {
    const page = await searchOrders(db, search, { limit: Math.min(20, STUCK_SCAN_LIMIT - scanned), after: position });
    const reasons = await Promise.all(page.orders.map((o) => (isTerminal(o.status) ? Promise.resolve([]) : stuckReasons(db, client, o.orderId, o.status))));
    for (const [i, order] of page.orders.entries()) {
      scanned += 1;
      position = { createdAt: order.createdAt, orderId: order.orderId };
      if (reasons[i]!.length > 0) found.push({ ...order, stuck: reasons[i]! });
      if (found.length >= limit) return { orders: found, next: i < page.orders.length - 1 || page.next ? position : null };
    }
    if (!page.next) return { orders: found, next: null };
  }
  return { orders: found, next: position ?? null };
}

export interface ReadSideStatus {
  projections: ProjectionStatus[];
  deadLetters: DeadLetter[];
}

/** Every projection's checkpoint, lag, rebuild progress and parked count, and the parked events themselves (at most `limit`). */
export async function readSideStatus(db: Queryable, projections: readonly Projection[], options: { limit?: number } = {}): Promise<ReadSideStatus> {
  const [statuses, deadLetters] = await Promise.all([projectionStatuses(db, projections), listDeadLetters(db, { limit: options.limit ?? 100 })]);
  return { projections: statuses, deadLetters };
}
