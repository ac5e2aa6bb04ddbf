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
const SAGA_NOT_STARTED_RETRY_MS = 50;

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
   * Resolves when the checkout saga of `attempt` has finished, or at `deadline`, whichever comes
   * first: the client's long poll on the child workflow's result. Nothing is sent to the order
   * itself: an update arriving in the same workflow task as the saga's completion, when that task
   * was retried after a worker crash, has been seen to make the order fail replay (an SDK ordering
   * bug; docs/reliability.md), and the order's outcome is read from Postgres anyway.
   */
  async sagaFinished(orderId: string, attempt: number, deadline: number): Promise<void> {
    const saga = this.client.workflow.getHandle(checkoutWorkflowId(orderId, attempt));
    while (Date.now() < deadline) {
      try {
        await this.client.withDeadline(deadline, () => saga.result());
        return;
      } catch (err) {
        // The order starts its saga as it answers PlaceOrder, and Temporal creates the child a
        // moment later: not found yet means ask again. Anything else (the deadline, a terminated
        // saga): stop waiting here and look at the order's stream.
        if (!(err instanceof WorkflowNotFoundError)) return;
        await new Promise((resolve) => setTimeout(resolve, SAGA_NOT_STARTED_RETRY_MS));
      }
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
