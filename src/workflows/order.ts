import { ApplicationFailure, continueAsNew, log, setHandler } from '@temporalio/workflow';
import { OrderActor } from './orderActor';
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
  type OrderCommandName,
  type OrderSnapshot,
  type OrderWorkflowInput,
} from './orderContract';

/**
 * One order, alive from its first command until it is shipped, cancelled or expired. Commands
 * arrive as updates or signals and are taken strictly one at a time (orderActor.ts); while a
 * checkout saga runs, none is taken until its report is recorded.
 */
export async function orderWorkflow(input: OrderWorkflowInput): Promise<OrderSnapshot> {
  const order = new OrderActor(input);
  acceptCommands(order);
  answerQueries(order);
  order.resumeCarried();
  while (!order.closed) {
    if (order.checkoutRunning) {
      await order.settleCheckout();
    } else if (order.shouldContinueAsNew()) {
      // A saga child must finish before the parent continues-as-new: a command may start one.
      await order.answerQueued();
      if (!order.checkoutRunning && !order.closed) await continueAsNew<typeof orderWorkflow>(order.nextRun());
    } else {
      if ((await order.awaitCommand()) === false) {
        if (!order.created) break; // started but never created: nothing to keep
        order.queueExpiry();
      }
      await order.takeNextCommand();
    }
  }
  await order.answerQueued();
  return order.snapshot();
}

/** Every command as an update (answered once decided) and as a signal (told by getCommandOutcome). */
function acceptCommands(order: OrderActor): void {
  for (const name of orderCommandNames) {
    setHandler(
      commandUpdates[name],
      (command) =>
        new Promise<CommandAccepted>((resolve, reject) => {
          order.enqueue(name, command, (outcome) => (outcome.status === 'accepted' ? resolve(outcome) : reject(rejection(outcome))));
        }),
      // Malformed commands are refused before they reach the history.
      { validator: (command) => validate(name, command) },
    );
    setHandler(commandSignals[name], (command) => {
      const parsed = orderCommandSchemas[name].safeParse(command);
      if (parsed.success) {
        order.enqueue(name, parsed.data, () => undefined);
      } else {
        const commandId = (command as { commandId?: unknown } | undefined)?.commandId;
        log.warn('Dropped a malformed signal', { name, issues: parsed.error.issues.length });
        if (typeof commandId === 'string') order.recordMalformed(commandId, summarize(parsed.error.issues));
      }
    });
  }
}

/** Reads: the order, a command's outcome, and the wait for checkout that older clients still send. */
function answerQueries(order: OrderActor): void {
  setHandler(getOrderQuery, () => order.snapshot());
  setHandler(awaitCheckoutUpdate, () => order.checkoutSettled());
  setHandler(getCommandOutcomeQuery, (commandId) => order.commandStatus(commandId));
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
