import {
  allHandlersFinished,
  CancellationScope,
  condition,
  executeChild,
  log,
  patched,
  setCurrentDetails,
  sleep,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import { context as traceContext, type Context as TraceContext } from '@opentelemetry/api';
import type { OrderActivities } from '../activities/orderActivities';
import { clientCommandId, commandFingerprint, internalCommandId } from '../domain/commandIds';
import { DomainError } from '../domain/decider';
import {
  decideOrder,
  evolveOrder,
  initialOrderState,
  isTerminal,
  MAX_ORDER_TOTAL_CENTS,
  ORDER_STREAM_TYPE,
  orderStreamId,
  type CheckoutReport,
  type ConfirmedCheckout,
  type OrderCommand,
  type OrderEvent,
  type OrderState,
} from '../domain/order';
import { currentSchemaVersion } from '../domain/eventSchemas';
import { checkoutIds, checkoutWorkflow, checkoutWorkflowId, runCheckoutSaga, undoCheckoutAttempt, type CheckoutInput } from './checkout';
import { CommandLedger, ledgerFromLegacy } from './commandLedger';
import { localFirst } from './localFirst';
import type { CommandAccepted, CommandOutcome, CommandRejected, OrderCommandInput, OrderCommandName, OrderSnapshot, OrderWorkflowInput } from './orderContract';
import { CustomerIdAttribute, OrderStatusAttribute } from './searchAttributes';

/**
 * Changes that alter the commands an order schedules or the answers that decide them: histories
 * recorded before each one replay on the old path (docs/evolution.md).
 */
const PATCHES = {
  /** A rejection no longer binds its key: the same key is decided afresh. */
  rejectionsBindNothing: 'rejections-bind-nothing',
  /** A key the ledger has dropped is looked up in the order's stream. */
  streamCheckedKeys: 'stream-checked-keys',
  /** A cart may not total more than a wallet can pay. */
  orderTotalCap: 'order-total-cap',
  /** Checkout prices every line at the catalog's current price. */
  priceAtCheckout: 'price-at-checkout',
  /** A saga ended from outside has its attempt undone before the order records it. */
  undoAbortedCheckout: 'undo-aborted-checkout',
  /** The catalog look-ups, the key look-up and the append run as local activities, in the task that takes the command. */
  localOrderSteps: 'local-order-steps',
  /** A cart's expiry timer is started once per idle period, not cancelled and started again by every command. */
  cartTimerPerIdlePeriod: 'cart-timer-per-idle-period',
  /** AddItem and PlaceOrder are looked up, decided and stored by one step instead of a look-up and an append. */
  pricedInOneStep: 'priced-in-one-step',
  /** The checkout saga runs in the order's own workflow, not as a child workflow. */
  checkoutInActor: 'checkout-in-actor',
} as const;

/**
 * The actor's Postgres steps, local first (localFirst.ts). Technical failures (Postgres down) retry
 * until they succeed; the command waits for them. A stream conflict never will: the command fails.
 */
const runStep = localFirst<OrderActivities>(PATCHES.localOrderSteps, {
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '200 ms', backoffCoefficient: 2, maximumInterval: '5 seconds', nonRetryableErrorTypes: ['WrongExpectedVersion'] },
});

/** AddItem or PlaceOrder without prices, as the actor hands it to the step that prices, decides and stores it. */
type UnpricedOrderCommand = Parameters<OrderActivities['decidePricedOrderCommand']>[0]['command'];

/** A command waiting for the actor's loop; updates wait on `answer`, signals do not. */
interface Queued {
  name: OrderCommandName | 'ExpireOrder' | 'RecordCheckout';
  /** The ledger's id: `client:<commandId>` for a client's command, an internal id for the actor's own. */
  id: string;
  /** What a client's command asked for (empty for the actor's own): a key reused for another request is refused. */
  fingerprint: string;
  input: { commandId: string; correlationId?: string; expectedVersion?: number } & Record<string, unknown>;
  answer(outcome: CommandOutcome): void;
  /** Metadata the command's events are stored with besides the ids (a checkout's report: when it began). */
  metadata?: Record<string, string>;
  /**
   * The trace the command arrived in (its update's span): the loop decides it there, so its
   * steps, appends and checkout saga join the caller's trace, not the one that started the order.
   */
  trace: TraceContext;
}

/** A client's command as the actor queues it: its id in the client namespace, and its fingerprint. */
function fromClient(name: OrderCommandName, command: OrderCommandInput, answer: Queued['answer']): Queued {
  // If-Match is a precondition, not part of the request: a retry after re-reading the version is the same request.
  const { commandId, correlationId: _correlation, expectedVersion: _expected, ...request } = command;
  return { name, id: clientCommandId(commandId), fingerprint: commandFingerprint([name, request]), input: command, answer, trace: traceContext.active() };
}

/** A command the actor gives itself: its id is internal, so no client key can equal it. */
function internal(name: 'ExpireOrder' | 'RecordCheckout', id: string, fields: Record<string, unknown> = {}, metadata?: Record<string, string>): Queued {
  return { name, id, fingerprint: '', input: { commandId: id, ...fields }, answer: () => undefined, trace: traceContext.active(), metadata };
}

/**
 * One order's actor: what it knows, and the steps its workflow (order.ts) runs. Handlers only queue
 * commands; the loop takes them one at a time: earlier answer, decide, append, evolve, answer.
 *
 * The steps keep the awaits the recorded histories were made with: an update's answer is sent a
 * few microtask turns after `answer`, so one await more or less between answering a command and
 * starting the next timer or activity reorders them in the history, and running orders fail
 * replay (one extra await in `takeNextCommand` breaks most of test/replay). That is why the steps
 * that only pass a promise on (`awaitCommand`, `takeNextCommand`, `append`, ...) are not async.
 */
export class OrderActor {
  private state: OrderState;
  private version: number;
  /** When a command last changed the order: an idle cart expires `cartTtlMs` after it. */
  private lastActivityAt: number;
  private readonly ledger: CommandLedger;
  private readonly inbox: Queued[] = [];
  /** The running checkout saga of the current attempt, if any, and when it began (the workflow clock, ISO). */
  private checkout: { attempt: number; report: Promise<CheckoutReport>; startedAt: string } | undefined;
  /** The cart's expiry timer while it runs; it fires at the deadline it was started for, which commands may have moved since. */
  private cartTimer: Promise<void> | undefined;

  constructor(private readonly input: OrderWorkflowInput) {
    const { carried } = input;
    this.state = carried?.state ?? initialOrderState;
    this.version = carried?.version ?? 0;
    this.lastActivityAt = carried?.lastActivityAt ?? Date.now();
    this.ledger = new CommandLedger(carried?.commands ?? (carried?.ledger ? ledgerFromLegacy(carried.ledger) : undefined), input.ledgerCapacity);
  }

  get closed(): boolean {
    return isTerminal(this.state.status);
  }

  get created(): boolean {
    return this.state.status !== 'NONE';
  }

  get checkoutRunning(): boolean {
    return this.checkout !== undefined;
  }

  snapshot(): OrderSnapshot {
    return { state: this.state, version: this.version };
  }

  /** Queues a client's command; `answer` hears its outcome once it is decided. */
  enqueue(name: OrderCommandName, command: OrderCommandInput, answer: Queued['answer']): void {
    this.inbox.push(fromClient(name, command, answer));
  }

  /** A malformed signal cannot be refused, only dropped: its id, if it had one, answers INVALID_COMMAND. */
  recordMalformed(commandId: string, message: string): void {
    this.ledger.recordRejected(clientCommandId(commandId), { status: 'rejected', commandId, code: 'INVALID_COMMAND', message, kind: 'invalid' });
  }

  /** A client's command as `getCommandOutcome` tells it: pending while queued, null when unknown. */
  commandStatus(commandId: string): CommandOutcome | { status: 'pending'; commandId: string } | null {
    const id = clientCommandId(commandId);
    if (this.inbox.some((q) => q.id === id)) return { status: 'pending', commandId };
    return this.ledger.outcomeOf(id) ?? null;
  }

  /** Resolves once the running checkout has settled (the order left PLACED). */
  async checkoutSettled(): Promise<OrderSnapshot> {
    await condition(() => this.state.status !== 'PLACED');
    return this.snapshot();
  }

  /** A continued run shows where the order is at once, and first records a saga's report its predecessor never did. */
  resumeCarried(): void {
    const { carried } = this.input;
    if (!carried) return;
    this.describeForOperators();
    const pending = carried.pendingCheckout;
    if (pending) this.inbox.push(internal('RecordCheckout', internalCommandId('checkout', pending.attempt), pending));
  }

  shouldContinueAsNew(): boolean {
    return workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= this.input.historyLimit;
  }

  /** The next run's input: this one's settings, carrying everything the actor knows. */
  nextRun(): OrderWorkflowInput {
    const { state, version, lastActivityAt } = this;
    return { ...this.input, carried: { state, version, commands: this.ledger.carry(), lastActivityAt } };
  }

  /**
   * Resolves once a command is queued. A cart (an order not yet placed) waits only until it has
   * been idle for `cartTtlMs`, and resolves false then.
   */
  awaitCommand(): Promise<boolean | void> {
    const queued = () => this.inbox.length > 0;
    if (!this.isCart) return condition(queued);
    // Before the patch, a timer of the remaining TTL per wait: cancelled and started again after every command.
    if (!patched(PATCHES.cartTimerPerIdlePeriod)) return condition(queued, Math.max(this.cartDeadline() - Date.now(), 1));
    if (!queued()) this.armCartTimer();
    // Idle and no timer running: the cart is past its deadline (armCartTimer starts none then).
    return condition(() => queued() || !this.cartTimer).then(queued);
  }

  /** An idle cart expires by a command of the actor's own, decided like any other. */
  queueExpiry(): void {
    this.inbox.push(internal('ExpireOrder', internalCommandId('expire', this.version)));
  }

  /** Decides the oldest queued command and answers it. */
  takeNextCommand(): Promise<void> {
    const next = this.inbox.shift();
    // `with` calls `answer` at once and passes its promise on: no await is added (see above).
    return next ? traceContext.with(next.trace, () => this.answer(next)) : Promise.resolve();
  }

  /** Waits for the running saga's report and records it; commands wait meanwhile, so they see its outcome. */
  async settleCheckout(): Promise<void> {
    const running = this.checkout;
    if (!running) return;
    const report = await running.report;
    this.checkout = undefined;
    const recording = internal(
      'RecordCheckout',
      internalCommandId('checkout', running.attempt),
      { attempt: running.attempt, report },
      { checkoutStartedAt: running.startedAt },
    );
    await this.answer(recording);
  }

  /**
   * Answers everything queued and waits for every handler, so nothing is lost by closing or
   * continuing. Stops early when a command starts a checkout: the commands behind it wait for it.
   */
  async answerQueued(): Promise<void> {
    for (;;) {
      while (this.inbox.length > 0 && !this.checkout) await this.takeNextCommand();
      if (this.checkout) return;
      await condition(() => this.inbox.length > 0 || allHandlersFinished());
      if (this.inbox.length === 0) return;
    }
  }

  private get isCart(): boolean {
    return this.state.status === 'PENDING' || this.state.status === 'NONE';
  }

  /** When an idle cart expires: `cartTtlMs` after the last accepted command. */
  private cartDeadline(): number {
    return this.lastActivityAt + this.input.cartTtlMs;
  }

  /**
   * Starts the cart's one timer, unless it runs or the deadline has passed. Commands only move the
   * deadline; when the timer fires it starts again for what is left if they did and the order is
   * still a cart. A timer firing after the cart was placed (or closed) does nothing.
   */
  private armCartTimer(): void {
    const remaining = this.cartDeadline() - Date.now();
    if (this.cartTimer || remaining <= 0) return;
    // Nothing cancels it: a run cancelled from outside ends through the loop's own wait, and this
    // timer's rejection would go unobserved.
    this.cartTimer = CancellationScope.nonCancellable(() => sleep(remaining)).then(() => {
      this.cartTimer = undefined;
      if (this.isCart) this.armCartTimer();
    });
  }

  /** Decides a command and tells its sender the outcome. */
  private async answer(item: Queued): Promise<void> {
    try {
      const outcome = await this.decideAndAppend(item);
      // Only a change keeps a cart open: refused commands sent forever must not keep it from expiring.
      if (outcome.status === 'accepted') this.lastActivityAt = Date.now();
      item.answer(outcome);
    } catch (err) {
      // An append that can never succeed (a stream conflict): the command fails, the actor lives on.
      log.error('Command failed', { commandId: item.input.commandId, error: String(err) });
      item.answer({
        status: 'rejected',
        commandId: item.input.commandId,
        code: 'COMMAND_FAILED',
        message: 'The command could not be stored.',
        kind: 'conflict',
      });
    }
  }

  /** A command's outcome, remembered in the ledger: its earlier answer, or decided now with its events stored and applied. */
  private async decideAndAppend(item: Queued): Promise<CommandOutcome> {
    const { commandId, expectedVersion } = item.input;
    const earlier = await this.earlierAnswer(item);
    if (earlier) return earlier;
    let outcome: CommandOutcome;
    try {
      if (expectedVersion !== undefined && expectedVersion !== this.version) {
        throw new DomainError('VERSION_MISMATCH', `The order is at version ${this.version}, not ${expectedVersion}.`, 'precondition');
      }
      let events: OrderEvent[];
      const priced = this.pricedCommand(item);
      if (priced) {
        events = await this.decidePricedInOneStep(item, priced);
      } else {
        events = decideOrder(await this.toDomainCommand(item), this.state);
        if (events.length > 0) await this.append(item, events);
      }
      if (events.length > 0) this.evolve(events);
      outcome = { status: 'accepted', commandId, version: this.version, orderStatus: this.state.status, events: events.map((e) => e.type) };
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      outcome = { status: 'rejected', commandId, code: err.code, message: err.message, kind: err.kind };
    }
    if (outcome.status === 'accepted') this.ledger.recordAccepted(item.id, outcome, item.fingerprint);
    else this.ledger.recordRejected(item.id, outcome);
    return outcome;
  }

  /**
   * The answer to a command whose id was seen before, or undefined when it must be decided: an
   * accepted key answers its first answer, or IDEMPOTENCY_KEY_REUSED when it now asks for
   * something else; a key the ledger dropped is looked up in the stream.
   */
  private async earlierAnswer(item: Queued): Promise<CommandOutcome | undefined> {
    const { commandId } = item.input;
    const reused = (): CommandRejected => ({
      status: 'rejected',
      commandId,
      code: 'IDEMPOTENCY_KEY_REUSED',
      message: 'This Idempotency-Key was already used for a different request on this order.',
      kind: 'rule',
    });
    const repeat = (outcome: CommandAccepted, fingerprint: string) => (fingerprint === '' || fingerprint === item.fingerprint ? outcome : reused());
    const accepted = this.ledger.acceptedAs(item.id);
    if (accepted) return repeat(accepted.outcome, accepted.fingerprint);
    const rejected = this.ledger.outcomeOf(item.id);
    if (rejected && !patched(PATCHES.rejectionsBindNothing)) return rejected;
    if (item.fingerprint !== '' && this.ledger.forgot && patched(PATCHES.streamCheckedKeys)) {
      const stored = await runStep((steps) => steps.findAcceptedCommand({ orderId: this.input.orderId, commandId: item.id }));
      if (stored)
        return repeat({ status: 'accepted', commandId, version: stored.version, orderStatus: stored.orderStatus, events: stored.events }, stored.fingerprint);
    }
    return undefined;
  }

  /**
   * AddItem or PlaceOrder as the one step sends it, unpriced, when that step decides it; undefined
   * when the actor decides it itself: before the patch, or when no price is needed (the decider
   * refuses it on the state alone, or an order placed before checkout repriced).
   */
  private pricedCommand({ name, input: command }: Queued): UnpricedOrderCommand | undefined {
    const { state } = this;
    if (state.status !== 'PENDING') return undefined;
    if (name === 'AddItem') {
      const { productId, quantity } = command as OrderCommandInput<'AddItem'>;
      return patched(PATCHES.pricedInOneStep) ? { type: 'AddItem', productId, quantity, ...totalLimit() } : undefined;
    }
    if (name === 'PlaceOrder' && state.items.length > 0 && patched(PATCHES.priceAtCheckout) && patched(PATCHES.pricedInOneStep)) {
      const { expectedTotalCents } = command as OrderCommandInput<'PlaceOrder'>;
      return { type: 'PlaceOrder', expectedTotalCents, maxTotalCents: MAX_ORDER_TOTAL_CENTS };
    }
    return undefined;
  }

  /** Prices, decides and stores a command in one step (decidePricedOrderCommand); a refusal is thrown as the decider's. */
  private async decidePricedInOneStep(item: Queued, command: UnpricedOrderCommand): Promise<OrderEvent[]> {
    const input = { orderId: this.input.orderId, state: this.state, version: this.version, command, event: { eventId: uuid4(), ...this.stored(item) } };
    const answer = await runStep((steps) => steps.decidePricedOrderCommand(input));
    if (answer.status === 'rejected') throw new DomainError(answer.code, answer.message, answer.kind);
    return answer.events;
  }

  /** The domain command for a queued one, with what the decider needs looked up (or given back) first. */
  private async toDomainCommand({ name, input: command }: Queued): Promise<OrderCommand> {
    const { state } = this;
    if (name === 'CreateOrder') {
      const c = command as OrderCommandInput<'CreateOrder'>;
      // The workflow id names the order: a different orderId in the payload is a client bug.
      return { type: 'CreateOrder', orderId: this.input.orderId, customerId: c.customerId, shippingAddress: c.shippingAddress };
    }
    if (name === 'AddItem') {
      const c = command as OrderCommandInput<'AddItem'>;
      // Prices come from the catalog at the moment of adding, never from the client.
      const product = state.status === 'PENDING' ? await runStep((steps) => steps.lookUpProduct(c.productId)) : null;
      return { type: 'AddItem', productId: c.productId, quantity: c.quantity, product, ...totalLimit() };
    }
    if (name === 'ChangeItemQuantity') {
      const c = command as OrderCommandInput<'ChangeItemQuantity'>;
      return { type: 'ChangeItemQuantity', productId: c.productId, quantity: c.quantity, ...totalLimit() };
    }
    if (name === 'PlaceOrder' && state.status === 'PENDING' && state.items.length > 0 && patched(PATCHES.priceAtCheckout)) {
      const { expectedTotalCents } = command as OrderCommandInput<'PlaceOrder'>;
      const catalog = await runStep((steps) => steps.lookUpProducts(state.items.map((l) => l.productId)));
      return { type: 'PlaceOrder', catalog, expectedTotalCents, maxTotalCents: MAX_ORDER_TOTAL_CENTS };
    }
    if (name === 'CancelOrder' && state.status === 'CONFIRMED' && state.checkout) {
      const { reason } = command as OrderCommandInput<'CancelOrder'>;
      return { type: 'CancelOrder', reason, compensations: await this.giveBackBeforeCancelling(reason, state.checkout) };
    }
    const { commandId: _id, correlationId: _corr, expectedVersion: _expected, ...fields } = command;
    return { type: name, ...fields } as OrderCommand;
  }

  /**
   * A confirmed order holds stock and money, and is cancelled only with what was given back. A
   * cancel the decider refuses must give back nothing, so it is asked first, as if there were
   * nothing to give back; then the checkout is undone. Returns what the undo did.
   */
  private giveBackBeforeCancelling(reason: string, taken: ConfirmedCheckout): Promise<string[]> {
    decideOrder({ type: 'CancelOrder', reason, compensations: [] }, this.state);
    return undoCheckoutAttempt({
      customerId: this.state.customerId!,
      reservationId: taken.reservationId,
      paymentId: taken.paymentId,
      amountCents: taken.amountCents,
      productIds: this.state.items.map((l) => l.productId),
    });
  }

  /** Stores a command's events in the order's stream, expecting the version they were decided at. */
  private append(item: Queued, events: OrderEvent[]): ReturnType<OrderActivities['appendOrderEvents']> {
    const { occurredAt, metadata } = this.stored(item);
    const stored = {
      streamId: orderStreamId(this.input.orderId),
      expectedVersion: this.version,
      // uuid4() is replay-stable, so a retried append (or its regular fallback) carries the same ids and is a no-op.
      // The schema version is activity input, not a command: changing it is replay-safe.
      events: events.map((e) => ({
        eventId: uuid4(),
        type: e.type,
        schemaVersion: currentSchemaVersion(ORDER_STREAM_TYPE, e.type),
        data: e.data,
        occurredAt,
        metadata,
      })),
    };
    return runStep((steps) => steps.appendOrderEvents(stored));
  }

  /** When a command's events happened (the workflow clock) and the metadata they are stored with. */
  private stored(item: Queued): { occurredAt: string; metadata: Record<string, string> } {
    return {
      occurredAt: new Date().toISOString(),
      metadata: {
        commandId: item.id,
        ...(item.fingerprint ? { commandFingerprint: item.fingerprint } : {}),
        correlationId: item.input.correlationId ?? item.input.commandId,
        causationId: item.id,
        workflowId: workflowInfo().workflowId,
        ...item.metadata,
      },
    };
  }

  /** Applies stored events: the new state and version, what operators see, and the checkout a placed order starts. */
  private evolve(events: OrderEvent[]): void {
    const before = this.state.status;
    this.state = events.reduce(evolveOrder, this.state);
    this.version += events.length;
    if (this.state.status !== before) this.publishStatus(before === 'NONE');
    this.describeForOperators();
    if (events.some((e) => e.type === 'OrderPlaced')) this.startCheckout();
  }

  /**
   * Runs the saga of the attempt just placed; the loop records its report (settleCheckout). In the
   * order's own workflow since `checkout-in-actor`: no child to start and wait for, and its local
   * steps run in the task that placed the order. That task, and PlaceOrder's answer with it, is
   * completed once they and the report's append have ended (tens of ms), or sooner when a step
   * falls back to its regular activity (after its 3 local attempts, up to 16 s each). Steps that
   * each struggle but succeed locally can outlast the API's 20 s: the client gets 503
   * COMMAND_TIMEOUT and its retry with the same key gets the answer. A 1 ms timer to answer first
   * was tried: the server fires it about a second later (docs/performance.md).
   */
  private startCheckout(): void {
    const { state } = this;
    const attempt = state.checkoutAttempts;
    const saga = { orderId: this.input.orderId, customerId: state.customerId!, attempt, lines: state.items, totalCents: state.totalCents };
    const report = patched(PATCHES.checkoutInActor) ? runCheckoutSaga(saga) : this.checkoutAsChild(saga);
    this.checkout = { attempt, report, startedAt: new Date().toISOString() };
  }

  /** How orders placed before `checkout-in-actor` run their saga: as a child workflow, which an operator could terminate. */
  private checkoutAsChild(saga: CheckoutInput): Promise<CheckoutReport> {
    const { attempt } = saga;
    return executeChild(checkoutWorkflow, { workflowId: checkoutWorkflowId(saga.orderId, attempt), args: [saga] }).catch(
      // The saga never fails by itself; only an operator terminating it gets here, and it may have
      // reserved or debited before it was stopped: give all of it back before the order is told.
      async (err): Promise<CheckoutReport> => {
        const compensations = patched(PATCHES.undoAbortedCheckout)
          ? await undoCheckoutAttempt({
              customerId: saga.customerId,
              ...checkoutIds(saga.orderId, attempt),
              amountCents: saga.totalCents,
              productIds: saga.lines.map((l) => l.productId),
            })
          : [];
        return { outcome: 'failed', code: 'CHECKOUT_ABORTED', message: String(err), steps: [], compensations };
      },
    );
  }

  /** Search attributes an operator filters by in the Web UI. */
  private publishStatus(created: boolean): void {
    upsertSearchAttributes([
      { key: OrderStatusAttribute, value: this.state.status },
      ...(created && this.state.customerId ? [{ key: CustomerIdAttribute, value: this.state.customerId }] : []),
    ]);
  }

  /** The one-line summary the Web UI shows for this order (metadata, not part of the history's commands). */
  private describeForOperators(): void {
    const { state } = this;
    const cents = state.totalCents;
    const total = `${Math.trunc(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
    const failure = state.lastCheckoutFailure ? ` · last checkout failed: ${state.lastCheckoutFailure.code}` : '';
    setCurrentDetails(
      `**${state.status}** · customer ${state.customerId} · ${state.items.length} line(s) · total ${total} · version ${this.version}${failure}`,
    );
  }
}

/** The cap on a cart's total, for orders decided since it exists. */
function totalLimit(): { maxTotalCents?: number } {
  return patched(PATCHES.orderTotalCap) ? { maxTotalCents: MAX_ORDER_TOTAL_CENTS } : {};
}
