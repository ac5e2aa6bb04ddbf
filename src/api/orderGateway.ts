import { randomUUID } from 'node:crypto';
import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import { findAcceptedCommand, orderRecorded, readOrder } from '../application/orderRecord';
import { clientCommandId, commandFingerprint } from '../domain/commandIds';
import { isTerminal } from '../domain/order';
import type { Queryable } from '../eventstore';
import { isWorkflowMissing } from '../temporal';
import { countedCommand, countRefusedForLoad } from '../metrics';
import type { orderWorkflow } from '../workflows/order';
import {
  commandSignals,
  commandUpdates,
  getCommandOutcomeQuery,
  getOrderQuery,
  orderWorkflowId,
  type CommandAccepted,
  type CommandOutcome,
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
/**
 * Commands this API process has in flight to one order at most. Temporal admits 10 in-flight
 * updates per workflow and the client retries the ones it refuses until their deadline; a command
 * past this bound is refused here at once (429), never sent, so it certainly did nothing. Below
 * 10, so a second API process or an operator's CLI still finds room.
 */
export const MAX_COMMANDS_IN_FLIGHT_PER_ORDER = 8;

/**
 * How the HTTP API talks to order actors: updates for answers, signals for fire-and-forget. The
 * order's Postgres stream is the record: when the actor is gone (a finished workflow past
 * Temporal's retention), reads, refusals and command statuses come from it.
 */
export class OrderGateway {
  private readonly inFlight = new Map<string, number>();

  constructor(
    private readonly client: Client,
    private readonly settings: OrderActorSettings,
    private readonly db: Queryable,
  ) {}

  /**
   * Runs an update to the order within the per-order bound, or refuses it before it is sent; an
   * update sent is counted by its answer, a refused one as refused for load.
   */
  private async admitted<T>(orderId: string, command: OrderCommandName, update: () => Promise<T>): Promise<T> {
    const running = this.inFlight.get(orderId) ?? 0;
    if (running >= MAX_COMMANDS_IN_FLIGHT_PER_ORDER) {
      countRefusedForLoad(command);
      throw new ApiError(
        429,
        'TOO_MANY_REQUESTS',
        'This order is busy with other commands. Retry shortly with the same Idempotency-Key.',
        {},
        { 'Retry-After': '1' },
      );
    }
    this.inFlight.set(orderId, running + 1);
    try {
      return await countedCommand(command, update);
    } finally {
      const left = (this.inFlight.get(orderId) ?? 1) - 1;
      if (left === 0) this.inFlight.delete(orderId);
      else this.inFlight.set(orderId, left);
    }
  }

  /** Creates the order's actor and its first event in one round trip (update-with-start). */
  async create(orderId: string, payload: CommandPayload<'CreateOrder'>, commandId: string): Promise<CommandAccepted> {
    if ((await orderRecorded(this.db, orderId)) && !(await this.actorRunning(orderId))) return this.createdBefore(orderId, payload, commandId);
    const start = new WithStartWorkflowOperation<typeof orderWorkflow>('orderWorkflow', {
      workflowId: orderWorkflowId(orderId),
      taskQueue: this.settings.taskQueue,
      args: [{ orderId, cartTtlMs: this.settings.cartTtlMs, historyLimit: this.settings.historyLimit }],
      workflowIdConflictPolicy: 'USE_EXISTING',
      // A finished order's id is never reused: its stream already holds its history.
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
    });
    return this.admitted(orderId, 'CreateOrder', () =>
      this.translate(orderId, () =>
        this.client.withDeadline(Date.now() + COMMAND_DEADLINE_MS, () =>
          this.client.workflow.executeUpdateWithStart(commandUpdates.CreateOrder, {
            args: [{ ...payload, commandId }],
            startWorkflowOperation: start,
          }),
        ),
      ),
    );
  }

  /** Sends a command as an update and waits for the actor's answer. */
  send<N extends OrderCommandName>(orderId: string, name: N, payload: CommandPayload<N>, commandId: string): Promise<CommandAccepted> {
    const handle = this.client.workflow.getHandle(orderWorkflowId(orderId));
    const update = () => handle.executeUpdate(commandUpdates[name], { args: [{ ...payload, commandId }] });
    return this.admitted(orderId, name, () =>
      this.translate(
        orderId,
        () => this.client.withDeadline(Date.now() + COMMAND_DEADLINE_MS, update),
        () => this.answeredBefore(orderId, name, payload, commandId),
      ),
    );
  }

  /** Sends a command as a signal; its outcome is read later with `outcome`. */
  signal<N extends OrderCommandName>(orderId: string, name: N, payload: CommandPayload<N>, commandId: string): Promise<void> {
    const handle = this.client.workflow.getHandle(orderWorkflowId(orderId));
    return this.translate(orderId, () => handle.signal(commandSignals[name], { ...payload, commandId }));
  }

  /** The actor's view; undefined when the actor has finished or is gone (read its stream instead). */
  async snapshot(orderId: string): Promise<OrderSnapshot | undefined> {
    if (!(await this.actorRunning(orderId))) return undefined;
    return this.translate(orderId, () => this.client.workflow.getHandle(orderWorkflowId(orderId)).query(getOrderQuery));
  }

  private async actorRunning(orderId: string): Promise<boolean> {
    try {
      return (await this.client.workflow.getHandle(orderWorkflowId(orderId)).describe()).status.name === 'RUNNING';
    } catch (err) {
      if (isWorkflowMissing(err)) return false;
      throw apiErrorFromTemporal(err) ?? err;
    }
  }

  /**
   * A create for an order whose actor is not running but whose stream exists: the create's retry
   * gets its first answer from the stream; anything else is a conflict. Never a second actor.
   */
  private async createdBefore(orderId: string, payload: CommandPayload<'CreateOrder'>, commandId: string): Promise<CommandAccepted> {
    const earlier = await this.answeredBefore(orderId, 'CreateOrder', payload, commandId);
    if (earlier?.events.includes('OrderCreated')) return earlier;
    // An open order with no actor is stranded (503, for an operator), not a reason to make another.
    const { state } = await readOrder(this.db, orderId);
    if (!isTerminal(state.status)) throw await this.notRunning(orderId);
    throw new ApiError(409, 'ORDER_ALREADY_EXISTS', 'An order with this id already exists.');
  }

  /**
   * The first answer to a command the stream holds, for an actor that can no longer give it (a
   * closed order): the same request gets it, another one under the same key is refused, and a key
   * the stream does not know is undefined.
   */
  private async answeredBefore<N extends OrderCommandName>(
    orderId: string,
    name: N,
    payload: CommandPayload<N>,
    commandId: string,
  ): Promise<CommandAccepted | undefined> {
    const stored = await findAcceptedCommand(this.db, orderId, clientCommandId(commandId));
    if (!stored) return undefined;
    // The fingerprint the actor stored: its command's name and payload, without the ids and If-Match.
    const { expectedVersion: _expected, ...request } = payload as CommandPayload<N> & { expectedVersion?: number };
    if (stored.fingerprint !== '' && stored.fingerprint !== commandFingerprint([name, request])) {
      throw new ApiError(422, 'IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was already used for a different request on this order.');
    }
    return { status: 'accepted', commandId, version: stored.version, orderStatus: stored.orderStatus, events: stored.events };
  }

  /**
   * A command's status: the actor's answer while it remembers one; else what the stream recorded
   * (an accepted command left its id on its events); else, for a closed order, its refusal: a
   * command a closed order never recorded was refused.
   */
  async outcome(orderId: string, commandId: string): Promise<CommandOutcome | { status: 'pending'; commandId: string } | null> {
    const handle = this.client.workflow.getHandle(orderWorkflowId(orderId));
    try {
      const answer = await handle.query(getCommandOutcomeQuery, commandId);
      if (answer) return answer;
    } catch (err) {
      if (!isWorkflowMissing(err)) throw apiErrorFromTemporal(err) ?? err;
    }
    const stored = await findAcceptedCommand(this.db, orderId, clientCommandId(commandId));
    if (stored) return { status: 'accepted', commandId, version: stored.version, orderStatus: stored.orderStatus, events: stored.events };
    const { state, version } = await readOrder(this.db, orderId);
    if (version > 0 && isTerminal(state.status)) {
      return {
        status: 'rejected',
        commandId,
        code: 'ORDER_CLOSED',
        message: `The order is ${state.status.toLowerCase()}; it took no more commands.`,
        kind: 'conflict',
      };
    }
    return null;
  }

  /** `earlier`: what the stream says the call answered before, when the actor is not running. */
  private async translate<T>(orderId: string, call: () => Promise<T>, earlier?: () => Promise<T | undefined>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (!isWorkflowMissing(err)) throw apiErrorFromTemporal(err) ?? err;
      const answer = await earlier?.();
      if (answer !== undefined) return answer;
      throw await this.notRunning(orderId);
    }
  }

  /**
   * A command for an actor that is not running: finished (409), unknown (404), or, when the stream
   * holds an open order with no actor, stranded: not the client's doing, and an operator's to heal.
   */
  private async notRunning(orderId: string): Promise<ApiError> {
    const { state, version } = await readOrder(this.db, orderId);
    if (version === 0) return new ApiError(404, 'ORDER_NOT_FOUND', 'There is no such order.');
    if (isTerminal(state.status)) return new ApiError(409, 'ORDER_CLOSED', 'The order is finished; it takes no more commands.');
    return new ApiError(
      503,
      'ORDER_UNAVAILABLE',
      'The order cannot take commands right now; an operator has to bring it back. Retry later with the same Idempotency-Key.',
      {},
      { 'Retry-After': '60' },
    );
  }
}

export const newCommandId = (): string => randomUUID();
