import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { STREAM_WRITING_STEPS } from '../activities/orderActivities';
import { createPaymentActivities } from '../activities/paymentActivities';
import { createStockActivities } from '../activities/stockActivities';
import type { OrderActorSettings } from '../api/orderGateway';
import { clientKeyOf, orderCommandIdAsStored } from '../domain/commandIds';
import { evolveOrder, initialOrderState, isTerminal, type CheckoutReport, type OrderEvent, type OrderState, orderStreamId } from '../domain/order';
import { timeSinceLastEvent, type RecordedEvent, type TransactionalDb } from '../eventstore';
import { checkoutDeadlineMs } from '../invariants/checkouts';
import { compareActorWithStream, type ActorVerdict } from '../invariants/workflows';
import { checkoutIds, checkoutWorkflowId, type checkoutWorkflow } from '../workflows/checkout';
import { CommandLedger } from '../workflows/commandLedger';
import { LOCAL_ATTEMPTS } from '../workflows/localFirst';
import type { orderWorkflow } from '../workflows/order';
import { orderWorkflowId, type CarriedOrder } from '../workflows/orderContract';
import { CustomerIdAttribute, OrderStatusAttribute } from '../workflows/searchAttributes';
import { describeCondition, inspectWorkflow, type WorkflowCondition } from './workflowHealth';
import { readStream } from '../application/eventStore';

/*
 * The operator's remedy for a stranded order (`npm run orders -- heal <orderId>`): brings the
 * order's actor back in line with its Postgres stream, which is the truth. The old run, if still
 * open, is terminated; a new run of `order-<orderId>` starts carrying what the stream says: the
 * folded state, the version, the accepted client commands (so a retried key answers its first
 * answer) and, for a PLACED order, the report of its saga that nobody recorded. Idempotent: on an
 * order already in line it changes nothing. It refuses whenever it cannot be sure.
 */

export type HealOutcome = 'healed' | 'in-line' | 'no-actor-needed' | 'refused';

export interface HealReport {
  orderId: string;
  outcome: HealOutcome;
  /** For a refusal, a stable code (SAGA_RUNNING, ...); for a heal not yet confirmed, NOT_CONFIRMED. */
  reason?: string;
  /** Whether running it again later may succeed (something is still running), or a person must look. */
  retryLater: boolean;
  message: string;
  /** The order as its stream records it (after the heal, when it recorded a saga's report). */
  stream: { status: OrderState['status']; version: number };
  /** The actor as it was found. */
  actorBefore: string;
  /** What the heal did, in order. */
  actions: string[];
}

export interface HealDeps {
  /** Reads the stream; the undo of an aborted checkout writes stock and account commands. */
  db: TransactionalDb;
  client: Client;
  /** Where and how a new actor runs: the API's settings for new orders. */
  actors: OrderActorSettings;
}

export interface HealOptions {
  /** How long to wait for the new actor to agree with its stream (default 30 s). */
  confirmWithinMs?: number;
  /** Who heals, and why: recorded in the old run's termination reason, the new run's memo and an undone checkout's failure. */
  operator?: string;
  reason?: string;
  /**
   * How long a checkout may run in its actor before the heal replaces the actor even though it
   * agrees with its stream (default: the checkout's deadline, `checkoutDeadlineMs`).
   */
  checkoutOverdueAfterMs?: number;
}

/** `by alice (stuck since the outage)`: who and why, for the records a heal leaves. */
const requestedBy = (options: HealOptions) => `by ${options.operator ?? 'an operator'}${options.reason ? ` (${options.reason})` : ''}`;

const CONFIRM_POLL_MS = 250;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface OrderRecord {
  events: RecordedEvent[];
  carried: Omit<CarriedOrder, 'pendingCheckout'>;
}

/**
 * What the actor would carry, rebuilt from its stream: the fold, the version, when it last
 * changed, and every accepted client command (id `client:<key>`) with its answer and fingerprint,
 * as the actor's own ledger keeps them (the newest 1000; `forgot` when more, so an older key is
 * looked up in the stream). Commands that stored no event (a no-op) and refusals leave no trace:
 * a retry of one is decided afresh, as the actor's ledger does for refusals anyway.
 */
export function carriedFromStream(events: readonly RecordedEvent[]): Omit<CarriedOrder, 'pendingCheckout'> {
  const accepted = new Map<string, { fingerprint: string; version: number; events: string[]; orderStatus: OrderState['status'] }>();
  let state = initialOrderState;
  for (const event of events) {
    state = evolveOrder(state, { type: event.type, data: event.data } as OrderEvent);
    const stored = event.metadata.commandId;
    if (typeof stored !== 'string') continue;
    const commandId = orderCommandIdAsStored(stored); // keys stored before the namespaces too
    if (clientKeyOf(commandId) === undefined) continue;
    const entry = accepted.get(commandId) ?? {
      fingerprint: typeof event.metadata.commandFingerprint === 'string' ? event.metadata.commandFingerprint : '',
      version: 0,
      events: [],
      orderStatus: state.status,
    };
    entry.version = event.version;
    entry.events.push(event.type);
    entry.orderStatus = state.status;
    accepted.set(commandId, entry);
  }
  const ledger = new CommandLedger(undefined);
  for (const [commandId, entry] of accepted) {
    const { fingerprint, ...answer } = entry;
    ledger.recordAccepted(commandId, { status: 'accepted', commandId: clientKeyOf(commandId)!, ...answer }, fingerprint);
  }
  const last = events[events.length - 1];
  return { state, version: events.length, commands: ledger.carry(), lastActivityAt: last ? Date.parse(last.occurredAt) : Date.now() };
}

async function readRecord(db: TransactionalDb, orderId: string): Promise<OrderRecord> {
  const events = await readStream(db, orderStreamId(orderId));
  return { events, carried: carriedFromStream(events) };
}

/**
 * Undoes checkout attempt `attempt` with the saga's own compensations, in its order (the refund,
 * then each line's stock from the last): they are idempotent per reservation and payment id and
 * give back from whatever state the step reached. A step of the dead saga that lands after this
 * finds the tombstones (a voided reservation or payment) and takes nothing, so afterwards the
 * attempt holds nothing and never will.
 */
async function undoAttempt(db: TransactionalDb, state: OrderState, attempt: number): Promise<string[]> {
  const { reservationId, paymentId } = checkoutIds(state.orderId!, attempt);
  const stock = createStockActivities(db);
  const done: string[] = [];
  if (state.totalCents > 0) {
    await createPaymentActivities(db).refundPayment({ paymentId, customerId: state.customerId! });
    done.push(`refund of payment ${paymentId}`);
  }
  for (const { productId } of [...state.items].reverse()) {
    const outcome = await stock.giveBackReservation({ reservationId, productId });
    done.push(`${outcome} ${outcome === 'voided' ? 'reservation' : 'stock'} of ${productId}`);
  }
  return done;
}

/** What the actor of this order is, as one line (the verdict of comparing it with its stream). */
function describeVerdict(verdict: ActorVerdict): string {
  switch (verdict.kind) {
    case 'missing':
      return 'missing';
    case 'unanswered':
      return `${verdict.condition ? describeCondition(verdict.condition) : 'unknown'}, not answering (${verdict.error})`;
    case 'agrees':
      return `${describeCondition(verdict.condition)}, in line with its stream at version ${verdict.streamVersion}`;
    case 'differs':
      return `${describeCondition(verdict.condition)}, not in line: ${verdict.difference}`;
    default:
      return describeCondition(verdict.condition);
  }
}

/** The saga report a new actor records first, and what it took to have one. */
type PendingCheckout = { pending: NonNullable<CarriedOrder['pendingCheckout']>; action: string };

/**
 * A PLACED order's checkout as it ended. A completed saga's report is handed over as it is. A saga
 * that ended without one (terminated, failed, timed out), never started, or (since
 * `checkout-in-actor`) ran in the actor being replaced has an unknown outcome:
 * rather than refuse, the heal undoes that attempt (see `undoAttempt`), which is safe whatever the
 * saga did, and records it as failed (CHECKOUT_ABORTED, what the actor itself records for a
 * terminated saga), so the customer can check out again. A running saga is waited for (see `healOrder`).
 */
async function pendingCheckout(
  deps: HealDeps,
  state: OrderState,
  saga: Exclude<WorkflowCondition, { state: 'running' }>,
  options: HealOptions,
): Promise<PendingCheckout> {
  const attempt = state.checkoutAttempts;
  const sagaId = checkoutWorkflowId(state.orderId!, attempt);
  if (saga.state === 'closed' && saga.status === 'COMPLETED') {
    const report = await deps.client.workflow.getHandle<typeof checkoutWorkflow>(sagaId).result();
    return { pending: { attempt, report }, action: `handed saga ${sagaId}'s report (${report.outcome}) to the new actor to record` };
  }
  const ended =
    saga.state === 'missing'
      ? `ran in the replaced actor or never started (there is no workflow ${sagaId})`
      : `ran as ${sagaId}, which ended ${saga.status} without a result`;
  const compensations = await undoAttempt(deps.db, state, attempt);
  const report: CheckoutReport = {
    outcome: 'failed',
    code: 'CHECKOUT_ABORTED',
    message: `Checkout attempt ${attempt} ${ended}; a heal ${requestedBy(options)} undid it.`,
    steps: [],
    compensations,
  };
  return {
    pending: { attempt, report },
    action: `checkout attempt ${attempt} ${ended}: undid it (${compensations.join(', ') || 'nothing to undo'}) and handed a failed report to the new actor`,
  };
}

/**
 * Why a PLACED order's actor must be replaced though it may agree with its stream: its checkout has
 * run in it (no saga workflow, since `checkout-in-actor`) for longer than a checkout can take, so
 * it will not move the stream by itself. Undefined when the order is not in that state.
 */
async function overdueCheckoutInActor(deps: HealDeps, state: OrderState, options: HealOptions): Promise<string | undefined> {
  if (state.status !== 'PLACED') return undefined;
  const streamId = orderStreamId(state.orderId!);
  const placedFor = (await timeSinceLastEvent(deps.db, { streamIds: [streamId], type: 'OrderPlaced' })).get(streamId) ?? 0;
  const limit = options.checkoutOverdueAfterMs ?? checkoutDeadlineMs(state.items.length);
  if (placedFor <= limit) return undefined;
  const sagaId = checkoutWorkflowId(state.orderId!, state.checkoutAttempts);
  if ((await inspectWorkflow(deps.client, sagaId)).state !== 'missing') return undefined;
  return `checkout attempt ${state.checkoutAttempts} has run in the actor for ${Math.round(placedFor / 1000)} s, past its deadline of ${Math.round(limit / 1000)} s: replacing the actor`;
}

export async function healOrder(deps: HealDeps, orderId: string, options: HealOptions = {}): Promise<HealReport> {
  const { client } = deps;
  const workflowId = orderWorkflowId(orderId);
  let record = await readRecord(deps.db, orderId);
  const actions: string[] = [];
  let actorBefore = 'not looked at';
  const report = (outcome: HealOutcome, message: string, extra: { reason?: string; retryLater?: boolean } = {}): HealReport => ({
    orderId,
    outcome,
    retryLater: false,
    ...extra,
    message,
    stream: { status: record.carried.state.status, version: record.carried.version },
    actorBefore,
    actions,
  });
  const refuse = (reason: string, message: string, retryLater: boolean) => report('refused', message, { reason, retryLater });
  /** The saga of a PLACED order, unless it still runs: then the heal waits for it. */
  const endedSaga = async (state: OrderState) => {
    const sagaId = checkoutWorkflowId(orderId, state.checkoutAttempts);
    const saga = await inspectWorkflow(client, sagaId);
    if (saga.state !== 'running') return { saga };
    return { refusal: refuse('SAGA_RUNNING', `Checkout saga ${sagaId} is still running: wait for the saga, then run the heal again.`, true) };
  };

  if (record.events.length === 0) return refuse('ORDER_NOT_FOUND', `There is no stream ${orderStreamId(orderId)}: nothing to heal.`, false);
  const verdict = await compareActorWithStream(deps.db, client, orderId);
  actorBefore = describeVerdict(verdict);
  const running = verdict.kind !== 'missing' && verdict.kind !== 'unanswered' && verdict.condition.state === 'running' ? verdict.condition : undefined;

  if (isTerminal(record.carried.state.status)) {
    // An actor stuck on a finished order would never close by itself; a working one closes soon.
    if (verdict.kind === 'stranded' && running) {
      await client.workflow
        .getHandle(workflowId)
        .terminate(`orders heal ${requestedBy(options)}: the stream is ${record.carried.state.status}; the actor had nothing left to do`);
      actions.push(`terminated stranded run ${running.runId}`);
    }
    return report('no-actor-needed', `The order is ${record.carried.state.status} in its stream: it needs no actor.`);
  }
  const overdue = await overdueCheckoutInActor(deps, record.carried.state, options);
  if (verdict.kind === 'agrees' && running && !overdue)
    return report('in-line', 'The actor is running and agrees with its stream: already in line, nothing done.');
  if (verdict.kind === 'unanswered') {
    return refuse(
      'ACTOR_NOT_ANSWERING',
      `The actor's workflow task is not failing, but it did not answer: is a worker polling its task queue? ${verdict.error}`,
      true,
    );
  }
  // A run being replaced must not have an append in flight: it could land after the new run starts.
  if (running?.pendingActivities.some((name) => STREAM_WRITING_STEPS.has(name))) {
    return refuse('APPEND_IN_FLIGHT', 'The actor has an append to its stream in flight; run the heal again once it has finished.', true);
  }
  // Terminating the actor would terminate a running saga with it (the parent close policy).
  if (record.carried.state.status === 'PLACED') {
    const { refusal } = await endedSaga(record.carried.state);
    if (refusal) return refusal;
  }
  // Said only once the heal replaces the actor: a refusal above has done nothing.
  if (overdue) actions.push(overdue);
  if (running) {
    await client.workflow.getHandle(workflowId).terminate(`orders heal ${requestedBy(options)}: replaced by a run carrying its stream (${actorBefore})`);
    actions.push(`terminated run ${running.runId}`);
    // A local step of that run (an append, a saga step) is invisible to pendingActivities and
    // outlives the termination: let one attempt's time pass before reading what the run left.
    await sleep(LOCAL_ATTEMPTS.startToCloseMs);
  }

  // No actor writes the stream any more: read it again, that is what the new actor carries.
  record = await readRecord(deps.db, orderId);
  if (isTerminal(record.carried.state.status))
    return report('no-actor-needed', `The order became ${record.carried.state.status} in its stream: it needs no actor.`);
  let pending: CarriedOrder['pendingCheckout'];
  if (record.carried.state.status === 'PLACED') {
    const { saga, refusal } = await endedSaga(record.carried.state);
    if (refusal) return refusal;
    const checkout = await pendingCheckout(deps, record.carried.state, saga, options);
    pending = checkout.pending;
    actions.push(checkout.action);
  }

  const { taskQueue, cartTtlMs, historyLimit } = deps.actors;
  let runId: string;
  try {
    const handle = await client.workflow.start<typeof orderWorkflow>('orderWorkflow', {
      workflowId,
      taskQueue,
      args: [{ orderId, cartTtlMs, historyLimit, carried: { ...record.carried, ...(pending ? { pendingCheckout: pending } : {}) } }],
      // The API never reuses a finished order's id (REJECT_DUPLICATE); the heal has just decided to.
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      // Shown by the Web UI beside the run: why this run exists.
      memo: { healedBy: options.operator ?? 'an operator', healReason: options.reason ?? null, healedAt: new Date().toISOString() },
      typedSearchAttributes: [
        { key: CustomerIdAttribute, value: record.carried.state.customerId ?? '' },
        { key: OrderStatusAttribute, value: record.carried.state.status },
      ],
    });
    runId = handle.firstExecutionRunId;
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    return refuse('STARTED_MEANWHILE', 'Another run of the actor started meanwhile (a second heal?); run the heal again to check it.', true);
  }
  actions.push(
    `started run ${runId} on ${taskQueue} carrying version ${record.carried.version} and ${record.carried.commands?.accepted.length ?? 0} accepted client command(s)`,
  );

  // Done when the new actor agrees with its stream, and has recorded the report it was handed.
  const deadline = Date.now() + (options.confirmWithinMs ?? 30_000);
  for (;;) {
    const now = await compareActorWithStream(deps.db, client, orderId, { attempts: 1, readAttempts: 1 });
    if (now.kind === 'agrees' && !(pending && now.view.state.status === 'PLACED')) {
      record = await readRecord(deps.db, orderId);
      return report('healed', `The actor runs again, in line with its stream at version ${now.streamVersion} (${now.view.state.status}).`);
    }
    if (Date.now() > deadline) {
      record = await readRecord(deps.db, orderId);
      return report('healed', `The new actor started but is not in line with its stream yet (${describeVerdict(now)}); run the heal again to check it.`, {
        reason: 'NOT_CONFIRMED',
        retryLater: true,
      });
    }
    await sleep(CONFIRM_POLL_MS);
  }
}
