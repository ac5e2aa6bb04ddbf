import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  executeChild,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
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
  type OrderCommand,
  type OrderState,
} from '../domain/order';
import { checkoutIds, checkoutWorkflow, checkoutWorkflowId, undoCheckoutAttempt } from './checkout';
import { CommandLedger, ledgerFromLegacy } from './commandLedger';
import {
  awaitCheckoutUpdate,
  commandSignals,
  commandUpdates,
  getCommandOutcomeQuery,
  getOrderQuery,
  orderCommandNames,
  orderCommandSchemas,
  type CommandAccepted,
  type CommandOutcome,
  type CommandRejected,
  type OrderCommandInput,
  type OrderCommandName,
  type OrderSnapshot,
  type OrderWorkflowInput,
} from './orderContract';
import { CustomerIdAttribute, OrderStatusAttribute } from './searchAttributes';
import { currentSchemaVersion } from '../domain/eventSchemas';

const { appendOrderEvents, findAcceptedCommand, lookUpProduct, lookUpProducts } = proxyActivities<OrderActivities>({
  startToCloseTimeout: '10 seconds',
  // Technical failures (Postgres down) retry until they succeed; the command waits for them.
  retry: { initialInterval: '200 ms', backoffCoefficient: 2, maximumInterval: '5 seconds', nonRetryableErrorTypes: ['WrongExpectedVersion'] },
});

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
} as const;

/** A command waiting for the actor's loop; updates wait on `answer`, signals do not. */
interface Queued {
  name: OrderCommandName | 'ExpireOrder' | 'RecordCheckout';
  /** The ledger's id: `client:<commandId>` for a client's command, an internal id for the actor's own. */
  id: string;
  /** What a client's command asked for (empty for the actor's own): a key reused for another request is refused. */
  fingerprint: string;
  input: { commandId: string; correlationId?: string; expectedVersion?: number } & Record<string, unknown>;
  answer(outcome: CommandOutcome): void;
}

/** A client's command as the actor queues it: its id in the client namespace, and its fingerprint. */
function fromClient(name: OrderCommandName, command: OrderCommandInput, answer: Queued['answer']): Queued {
  // If-Match is a precondition, not part of the request: a retry after re-reading the version is the same request.
  const { commandId, correlationId: _correlation, expectedVersion: _expected, ...request } = command;
  return { name, id: clientCommandId(commandId), fingerprint: commandFingerprint([name, request]), input: command, answer };
}

/** A command the actor gives itself: its id is internal, so no client key can equal it. */
function internal(name: 'ExpireOrder' | 'RecordCheckout', id: string, fields: Record<string, unknown> = {}): Queued {
  return { name, id, fingerprint: '', input: { commandId: id, ...fields }, answer: () => undefined };
}

/**
 * One order, alive from its first command until it is shipped, cancelled or expired.
 * Commands arrive as updates or signals and are handled strictly one at a time by the main loop:
 * decide, append the events to Postgres, evolve, answer.
 */
export async function orderWorkflow(input: OrderWorkflowInput): Promise<OrderSnapshot> {
  let state: OrderState = input.carried?.state ?? initialOrderState;
  let version = input.carried?.version ?? 0;
  let lastActivityAt = input.carried?.lastActivityAt ?? Date.now();
  const carriedLedger = input.carried?.commands ?? (input.carried?.ledger ? ledgerFromLegacy(input.carried.ledger) : undefined);
  const ledger = new CommandLedger(carriedLedger, input.ledgerCapacity);
  const inbox: Queued[] = [];
  /** The running checkout saga of the current attempt, if any. */
  let checkout: { attempt: number; report: Promise<CheckoutReport> } | undefined;

  for (const name of orderCommandNames) {
    setHandler(
      commandUpdates[name],
      (command) =>
        new Promise<CommandAccepted>((resolve, reject) => {
          inbox.push(fromClient(name, command, (outcome) => (outcome.status === 'accepted' ? resolve(outcome) : reject(rejection(outcome)))));
        }),
      // Malformed commands are refused before they reach the history.
      { validator: (command) => validate(name, command) },
    );
    setHandler(commandSignals[name], (command) => {
      const parsed = orderCommandSchemas[name].safeParse(command);
      if (parsed.success) {
        inbox.push(fromClient(name, parsed.data, () => undefined));
      } else {
        const commandId = (command as { commandId?: unknown } | undefined)?.commandId;
        log.warn('Dropped a malformed signal', { name, issues: parsed.error.issues.length });
        if (typeof commandId === 'string') {
          ledger.recordRejected(clientCommandId(commandId), {
            status: 'rejected',
            commandId,
            code: 'INVALID_COMMAND',
            message: summarize(parsed.error.issues),
            kind: 'invalid',
          });
        }
      }
    });
  }
  if (input.carried) describeForOperators(); // a continued run shows where the order is at once
  const pending = input.carried?.pendingCheckout;
  if (pending) inbox.push(internal('RecordCheckout', internalCommandId('checkout', pending.attempt), pending));
  setHandler(getOrderQuery, () => ({ state, version }));
  setHandler(awaitCheckoutUpdate, async () => {
    await condition(() => state.status !== 'PLACED');
    return { state, version };
  });
  setHandler(getCommandOutcomeQuery, (commandId) => {
    const id = clientCommandId(commandId);
    if (inbox.some((q) => q.id === id)) return { status: 'pending', commandId };
    return ledger.outcomeOf(id) ?? null;
  });

  async function toDomainCommand(name: Queued['name'], command: Queued['input']): Promise<OrderCommand> {
    if (name === 'CreateOrder') {
      const c = command as OrderCommandInput<'CreateOrder'>;
      // The workflow id names the order: a different orderId in the payload is a client bug.
      return { type: 'CreateOrder', orderId: input.orderId, customerId: c.customerId, shippingAddress: c.shippingAddress };
    }
    if (name === 'AddItem') {
      const c = command as OrderCommandInput<'AddItem'>;
      // Prices come from the catalog at the moment of adding, never from the client.
      const product = state.status === 'PENDING' ? await lookUpProduct(c.productId) : null;
      return { type: 'AddItem', productId: c.productId, quantity: c.quantity, product, ...totalLimit() };
    }
    if (name === 'ChangeItemQuantity') {
      const c = command as OrderCommandInput<'ChangeItemQuantity'>;
      return { type: 'ChangeItemQuantity', productId: c.productId, quantity: c.quantity, ...totalLimit() };
    }
    if (name === 'PlaceOrder' && state.status === 'PENDING' && state.items.length > 0 && patched(PATCHES.priceAtCheckout)) {
      const { expectedTotalCents } = command as OrderCommandInput<'PlaceOrder'>;
      const catalog = await lookUpProducts(state.items.map((l) => l.productId));
      return { type: 'PlaceOrder', catalog, expectedTotalCents, maxTotalCents: MAX_ORDER_TOTAL_CENTS };
    }
    if (name === 'CancelOrder' && state.status === 'CONFIRMED' && state.checkout) {
      const { reason } = command as OrderCommandInput<'CancelOrder'>;
      decideOrder({ type: 'CancelOrder', reason, compensations: [] }, state); // refuse before undoing anything
      const compensations = await undoCheckoutAttempt({
        customerId: state.customerId!,
        reservationId: state.checkout.reservationId,
        paymentId: state.checkout.paymentId,
        amountCents: state.checkout.amountCents,
        productIds: state.items.map((l) => l.productId),
      });
      return { type: 'CancelOrder', reason, compensations };
    }
    const { commandId: _id, correlationId: _corr, expectedVersion: _expected, ...fields } = command;
    return { type: name, ...fields } as OrderCommand;
  }

  function startCheckout(): void {
    const attempt = state.checkoutAttempts;
    const saga = { orderId: input.orderId, customerId: state.customerId!, attempt, lines: state.items, totalCents: state.totalCents };
    const report = executeChild(checkoutWorkflow, { workflowId: checkoutWorkflowId(input.orderId, attempt), args: [saga] }).catch(
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
    checkout = { attempt, report };
  }

  /** Records the running saga's report; commands wait meanwhile, so they see its outcome. */
  async function settleCheckout(running: NonNullable<typeof checkout>): Promise<void> {
    const report = await running.report;
    checkout = undefined;
    inbox.unshift(internal('RecordCheckout', internalCommandId('checkout', running.attempt), { attempt: running.attempt, report }));
    await processNext();
  }

  /** The cap on a cart's total, for orders decided since it exists. */
  function totalLimit(): { maxTotalCents?: number } {
    return patched(PATCHES.orderTotalCap) ? { maxTotalCents: MAX_ORDER_TOTAL_CENTS } : {};
  }

  /**
   * The answer to a command whose id was seen before, or undefined when it must be decided: an
   * accepted key answers its first answer, or IDEMPOTENCY_KEY_REUSED when it now asks for
   * something else; a key the ledger dropped is looked up in the stream.
   */
  async function earlierAnswer(item: Queued): Promise<CommandOutcome | undefined> {
    const { commandId } = item.input;
    const reused = (): CommandRejected => ({
      status: 'rejected',
      commandId,
      code: 'IDEMPOTENCY_KEY_REUSED',
      message: 'This Idempotency-Key was already used for a different request on this order.',
      kind: 'rule',
    });
    const repeat = (outcome: CommandAccepted, fingerprint: string) => (fingerprint === '' || fingerprint === item.fingerprint ? outcome : reused());
    const accepted = ledger.acceptedAs(item.id);
    if (accepted) return repeat(accepted.outcome, accepted.fingerprint);
    const rejected = ledger.outcomeOf(item.id);
    if (rejected && !patched(PATCHES.rejectionsBindNothing)) return rejected;
    if (item.fingerprint !== '' && ledger.forgot && patched(PATCHES.streamCheckedKeys)) {
      const stored = await findAcceptedCommand({ orderId: input.orderId, commandId: item.id });
      if (stored) return repeat({ status: 'accepted', commandId, version: stored.version, orderStatus: stored.orderStatus, events: stored.events }, stored.fingerprint);
    }
    return undefined;
  }

  async function handle(item: Queued): Promise<CommandOutcome> {
    const { commandId } = item.input;
    const earlier = await earlierAnswer(item);
    if (earlier) return earlier;
    let outcome: CommandOutcome;
    try {
      const expected = item.input.expectedVersion;
      if (expected !== undefined && expected !== version) {
        throw new DomainError('VERSION_MISMATCH', `The order is at version ${version}, not ${expected}.`, 'precondition');
      }
      const events = decideOrder(await toDomainCommand(item.name, item.input), state);
      if (events.length > 0) {
        const occurredAt = new Date().toISOString();
        const metadata = {
          commandId: item.id,
          ...(item.fingerprint ? { commandFingerprint: item.fingerprint } : {}),
          correlationId: item.input.correlationId ?? commandId,
          causationId: item.id,
          workflowId: workflowInfo().workflowId,
        };
        await appendOrderEvents({
          streamId: orderStreamId(input.orderId),
          expectedVersion: version,
          // uuid4() is replay-stable, so a retried append carries the same ids and is a no-op.
          // The schema version is activity input, not a command: changing it is replay-safe.
          events: events.map((e) => ({
            eventId: uuid4(),
            type: e.type,
            schemaVersion: currentSchemaVersion(ORDER_STREAM_TYPE, e.type),
            data: e.data,
            occurredAt,
            metadata,
          })),
        });
        const before = state.status;
        state = events.reduce(evolveOrder, state);
        version += events.length;
        if (state.status !== before) publishStatus(before === 'NONE');
        describeForOperators();
        if (events.some((e) => e.type === 'OrderPlaced')) startCheckout();
      }
      outcome = { status: 'accepted', commandId, version, orderStatus: state.status, events: events.map((e) => e.type) };
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      outcome = { status: 'rejected', commandId, code: err.code, message: err.message, kind: err.kind };
    }
    if (outcome.status === 'accepted') ledger.recordAccepted(item.id, outcome, item.fingerprint);
    else ledger.recordRejected(item.id, outcome);
    return outcome;
  }

  /** Search attributes an operator filters by in the Web UI. */
  function publishStatus(created: boolean): void {
    upsertSearchAttributes([
      { key: OrderStatusAttribute, value: state.status },
      ...(created && state.customerId ? [{ key: CustomerIdAttribute, value: state.customerId }] : []),
    ]);
  }

  /** The one-line summary the Web UI shows for this order (metadata, not part of the history's commands). */
  function describeForOperators(): void {
    const cents = state.totalCents;
    const total = `${Math.trunc(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
    const failure = state.lastCheckoutFailure ? ` · last checkout failed: ${state.lastCheckoutFailure.code}` : '';
    setCurrentDetails(`**${state.status}** · customer ${state.customerId} · ${state.items.length} line(s) · total ${total} · version ${version}${failure}`);
  }

  async function processNext(): Promise<void> {
    const item = inbox.shift();
    if (!item) return;
    try {
      const outcome = await handle(item);
      // Only a change keeps a cart open: refused commands sent forever must not keep it from expiring.
      if (outcome.status === 'accepted') lastActivityAt = Date.now();
      item.answer(outcome);
    } catch (err) {
      // An append that can never succeed (a stream conflict): the command fails, the actor lives on.
      log.error('Command failed', { commandId: item.input.commandId, error: String(err) });
      item.answer({ status: 'rejected', commandId: item.input.commandId, code: 'COMMAND_FAILED', message: 'The command could not be stored.', kind: 'conflict' });
    }
  }

  /**
   * Answers everything queued and waits for every handler, so nothing is lost by closing or
   * continuing. Stops early when a command starts a checkout: the commands behind it wait for it.
   */
  async function settle(): Promise<void> {
    for (;;) {
      while (inbox.length > 0 && !checkout) await processNext();
      if (checkout) return;
      await condition(() => inbox.length > 0 || allHandlersFinished());
      if (inbox.length === 0) return;
    }
  }

  const shouldContinueAsNew = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= input.historyLimit;

  while (!isTerminal(state.status)) {
    if (checkout) {
      await settleCheckout(checkout);
      continue;
    }
    // A saga child must finish before the parent continues-as-new: checked above.
    if (shouldContinueAsNew()) {
      await settle();
      if (!checkout && !isTerminal(state.status)) {
        await continueAsNew<typeof orderWorkflow>({ ...input, carried: { state, version, commands: ledger.carry(), lastActivityAt } });
      }
      continue;
    }
    const idle = state.status === 'PENDING' || state.status === 'NONE';
    if (idle) {
      const remaining = Math.max(lastActivityAt + input.cartTtlMs - Date.now(), 1);
      if (!(await condition(() => inbox.length > 0, remaining))) {
        if (state.status === 'NONE') break; // started but never created: nothing to keep
        inbox.push(internal('ExpireOrder', internalCommandId('expire', version)));
      }
    } else {
      await condition(() => inbox.length > 0);
    }
    await processNext();
  }
  await settle();
  return { state, version };
}

function validate(name: OrderCommandName, command: unknown): void {
  const parsed = orderCommandSchemas[name].safeParse(command);
  if (!parsed.success) {
    throw ApplicationFailure.create({ type: 'INVALID_COMMAND', message: summarize(parsed.error.issues), nonRetryable: true });
  }
}

function summarize(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): string {
  return issues.map((i) => `${i.path.map(String).join('.') || 'command'}: ${i.message}`).join('; ');
}

function rejection(outcome: Exclude<CommandOutcome, CommandAccepted>): ApplicationFailure {
  return ApplicationFailure.create({ type: outcome.code, message: outcome.message, nonRetryable: true, details: [outcome] });
}
