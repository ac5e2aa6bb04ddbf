import { ServiceError, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { ApplicationFailure, NamespaceNotFoundError, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/common';
import type { CommandRejected } from '../workflows/orderContract';
import { NAMESPACE_NOT_FOUND, isWorkflowMissing } from '../temporal';
import { ApiError, STATUS_BY_KIND } from './problem';

const GRPC_CANCELLED = 1;
const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_NOT_FOUND = 5;
const GRPC_RESOURCE_EXHAUSTED = 8;
const GRPC_FAILED_PRECONDITION = 9;
const GRPC_UNAVAILABLE = 14;

function grpcError(err: unknown): { code?: number; message: string } {
  const cause = (err instanceof ServiceError ? err.cause : err) as { code?: unknown; message?: unknown } | undefined;
  return {
    code: typeof cause?.code === 'number' ? cause.code : undefined,
    message: `${(err as Error)?.message ?? ''} ${typeof cause?.message === 'string' ? cause.message : ''}`,
  };
}

const temporalUnavailable = () => new ApiError(503, 'TEMPORAL_UNAVAILABLE', 'The workflow service is unavailable. Retry shortly.', {}, { 'Retry-After': '2' });

const commandTimeout = () =>
  new ApiError(503, 'COMMAND_TIMEOUT', 'The order did not answer in time. Retry with the same Idempotency-Key to get its answer.', {}, { 'Retry-After': '1' });

/**
 * Translates what Temporal answered into the API's problem vocabulary. Returns undefined for
 * anything that is not the client's mistake or a known transient condition.
 */
export function apiErrorFromTemporal(err: unknown): ApiError | undefined {
  if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
    const failure = err.cause;
    const outcome = failure.details?.[0] as CommandRejected | undefined;
    if (outcome) return new ApiError(STATUS_BY_KIND[outcome.kind], failure.type ?? outcome.code, failure.message);
    if (failure.type === 'INVALID_COMMAND') return new ApiError(400, 'INVALID_COMMAND', failure.message);
    // A worker older than this API (mid-deploy) has no handler for the update: likely to pass later.
    if (/No registered handler for update/.test(failure.message)) {
      return new ApiError(
        503,
        'ORDER_UNAVAILABLE',
        'The order could not take this command right now. Retry shortly with the same Idempotency-Key.',
        {},
        { 'Retry-After': '5' },
      );
    }
    return undefined; // an update the workflow failed unexpectedly: a bug, the 500 handler logs it
  }
  if (err instanceof WorkflowNotFoundError) {
    return isWorkflowMissing(err) ? new ApiError(404, 'ORDER_NOT_FOUND', 'There is no such order.') : temporalUnavailable();
  }
  if (err instanceof WorkflowExecutionAlreadyStartedError) {
    return new ApiError(409, 'ORDER_ALREADY_EXISTS', 'An order with this id already exists.');
  }
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) return commandTimeout();
  const { code, message } = grpcError(err);
  // A call no worker answered in time (the worker is down or restarting): past its deadline, or
  // cancelled when the deadline cut it short.
  if (code === GRPC_DEADLINE_EXCEEDED || code === GRPC_CANCELLED) return commandTimeout();
  // Temporal refuses updates while the order's workflow task is being retried (after a worker crash).
  if (code === GRPC_FAILED_PRECONDITION && /Workflow Task in failed state/i.test(message)) {
    return new ApiError(
      503,
      'ORDER_RECOVERING',
      'The order is recovering from a worker restart. Retry shortly with the same Idempotency-Key.',
      {},
      { 'Retry-After': '2' },
    );
  }
  if (code === GRPC_RESOURCE_EXHAUSTED) {
    return new ApiError(429, 'TOO_MANY_REQUESTS', 'This order is busy with other commands. Retry shortly.', {}, { 'Retry-After': '1' });
  }
  if (code === GRPC_UNAVAILABLE || err instanceof NamespaceNotFoundError) return temporalUnavailable();
  // While Temporal's own database is down (and until it has read it again) its frontend answers
  // that the namespace does not exist: the service is unavailable, the order is not missing.
  if (code === GRPC_NOT_FOUND && NAMESPACE_NOT_FOUND.test(message)) return temporalUnavailable();
  return undefined;
}
