import { randomUUID } from 'node:crypto';
import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { checkoutWorkflowId } from '../workflows/checkout';
import type { orderWorkflow } from '../workflows/order';
import {
  commandSignals,
  commandUpdates,
  getCommandOutcomeQuery,
  getOrderQuery,
  orderWorkflowId,
  type CommandAccepted,
  type OrderCommandInput,
  type OrderCommandName,
  type OrderSnapshot,
} from '../workflows/orderContract';
import { ApiError } from './problem';
import { apiErrorFromTemporal } from './temporalErrors';

export interface OrderActorSettings {
  taskQueue: string;
  cartTtlMs: number;
  historyLimit: number;
}

export type CommandPayload<N extends OrderCommandName> = Omit<OrderCommandInput<N>, 'commandId'>;

/**
 * How long a command may wait for its actor's answer before the API says 503 COMMAND_TIMEOUT
 * (retry with the same key): an actor whose worker is down or whose append waits for Postgres.
 */
export const COMMAND_DEADLINE_MS = 20_000;
/** After the saga finished, how often to look whether the order has recorded its report. */
const RECORD_POLL_MS = 25;

/** How the HTTP API talks to order actors: updates for answers, signals for fire-and-forget. */
export class OrderGateway {
  constructor(
    private readonly client: Client,
    private readonly settings: OrderActorSettings,
  ) {}

  /** Creates the order's actor and its first event in one round trip (update-with-start). */
  async create(orderId: string, payload: CommandPayload<'CreateOrder'>, commandId: string): Promise<CommandAccepted> {
    const start = new WithStartWorkflowOperation<typeof orderWorkflow>('orderWorkflow', {
      workflowId: orderWorkflowId(orderId),
      taskQueue: this.settings.taskQueue,
      args: [{ orderId, cartTtlMs: this.settings.cartTtlMs, historyLimit: this.settings.historyLimit }],
      workflowIdConflictPolicy: 'USE_EXISTING',
      // A finished order's id is never reused: its stream already holds its history.
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
    });
    return this.translate(orderId, () =>
      this.client.withDeadline(Date.now() + COMMAND_DEADLINE_MS, () =>
        this.client.workflow.executeUpdateWithStart(commandUpdates.CreateOrder, {
          args: [{ ...payload, commandId }],
          startWorkflowOperation: start,
        }),
      ),
    );
  }

  /** Sends a command as an update and waits for the actor's answer. */
  send<N extends OrderCommandName>(orderId: string, name: N, payload: CommandPayload<N>, commandId: string): Promise<CommandAccepted> {
    const handle = this.client.workflow.getHandle(orderWorkflowId(orderId));
    const update = () => handle.executeUpdate(commandUpdates[name], { args: [{ ...payload, commandId } as OrderCommandInput] });
    return this.translate(orderId, () => this.client.withDeadline(Date.now() + COMMAND_DEADLINE_MS, update));
  }

  /** Sends a command as a signal; its outcome is read later with `outcome`. */
  signal<N extends OrderCommandName>(orderId: string, name: N, payload: CommandPayload<N>, commandId: string): Promise<void> {
    const handle = this.client.workflow.getHandle(orderWorkflowId(orderId));
    return this.translate(orderId, () => handle.signal(commandSignals[name], { ...payload, commandId } as OrderCommandInput));
  }

  /** The actor's view; undefined when the actor has finished (read its stream instead). */
  async snapshot(orderId: string): Promise<OrderSnapshot | undefined> {
    const handle = this.client.workflow.getHandle(orderWorkflowId(orderId));
    const description = await this.translate(orderId, () => handle.describe());
    if (description.status.name !== 'RUNNING') return undefined;
    return this.translate(orderId, () => handle.query(getOrderQuery));
  }

  /**
   * Places the order, then waits at most `timeoutMs` for its checkout saga to settle: `settled`
   * once the order has recorded the outcome, else `placed` (its answer to PlaceOrder).
   *
   * The wait follows the saga, a child workflow, with the client's long poll on its result, then
   * reads the order with a query. No update is held open on the order meanwhile: an update that
   * arrives in the same workflow task as the saga's completion, when that task is retried after a
   * worker crash, has been seen to make the order fail replay (an SDK ordering bug; see
   * docs/reliability.md), and queries do not enter the history.
   */
  async placeAndAwaitCheckout(
    orderId: string,
    payload: CommandPayload<'PlaceOrder'>,
    commandId: string,
    timeoutMs: number,
  ): Promise<{ settled: OrderSnapshot } | { placed: CommandAccepted }> {
    const deadline = Date.now() + timeoutMs;
    const placed = await this.send(orderId, 'PlaceOrder', payload, commandId);
    const handle = this.client.workflow.getHandle(orderWorkflowId(orderId));
    let sagaDone = false;
    for (;;) {
      const order = await this.translate(orderId, () => this.client.withDeadline(Math.max(deadline, Date.now() + 1000), () => handle.query(getOrderQuery)));
      if (order.state.status !== 'PLACED') return { settled: order };
      if (Date.now() >= deadline) return { placed };
      if (sagaDone) {
        await new Promise((resolve) => setTimeout(resolve, RECORD_POLL_MS));
        continue;
      }
      const saga = this.client.workflow.getHandle(checkoutWorkflowId(orderId, order.state.checkoutAttempts));
      // Resolves when the saga finishes; a deadline or a failure just means: look at the order again.
      sagaDone = await this.client.withDeadline(deadline, () => saga.result()).then(
        () => true,
        () => Date.now() >= deadline,
      );
    }
  }

  outcome(orderId: string, commandId: string) {
    const handle = this.client.workflow.getHandle(orderWorkflowId(orderId));
    return this.translate(orderId, () => handle.query(getCommandOutcomeQuery, commandId));
  }

  private async translate<T>(orderId: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw await this.notRunning(orderId);
      throw apiErrorFromTemporal(err) ?? err;
    }
  }

  /** A command for an actor that is not running: the order is either finished (409) or unknown (404). */
  private async notRunning(orderId: string): Promise<ApiError> {
    try {
      const description = await this.client.workflow.getHandle(orderWorkflowId(orderId)).describe();
      if (description.status.name !== 'RUNNING') {
        return new ApiError(409, 'ORDER_CLOSED', 'The order is finished; it takes no more commands.');
      }
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw apiErrorFromTemporal(err) ?? err;
    }
    return new ApiError(404, 'ORDER_NOT_FOUND', 'There is no such order.');
  }
}

export const newCommandId = (): string => randomUUID();
