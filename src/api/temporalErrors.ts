import { ServiceError, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { ApplicationFailure, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/common';
import type { CommandRejected } from '../workflows/orderContract';
import { ApiError } from './problem';

const STATUS_BY_KIND: Record<CommandRejected['kind'], number> = {
  invalid: 400,
  not_found: 404,
  conflict: 409,
  precondition: 412,
  rule: 422,
};

const GRPC_RESOURCE_EXHAUSTED = 8;
const GRPC_UNAVAILABLE = 14;

function grpcCode(err: unknown): number | undefined {
  const cause = err instanceof ServiceError ? err.cause : err;
  const code = (cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** The actor's refusal of a command, as the API answers it. */
export function apiErrorFromRejection(outcome: CommandRejected): ApiError {
  return new ApiError(STATUS_BY_KIND[outcome.kind], outcome.code, outcome.message);
}

export const commandTimeout = () =>
  new ApiError(503, 'COMMAND_TIMEOUT', 'The order did not answer in time. Retry with the same Idempotency-Key to get its answer.', {}, { 'Retry-After': '1' });

/**
 * Translates what Temporal answered into the API's problem vocabulary. Returns undefined for
 * anything that is not the client's mistake or a known transient condition.
 */
export function apiErrorFromTemporal(err: unknown): ApiError | undefined {
  if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
    const failure = err.cause;
    const outcome = failure.details?.[0] as CommandRejected | undefined;
    const kind = outcome?.kind ?? (failure.type === 'INVALID_COMMAND' ? 'invalid' : 'conflict');
    return new ApiError(STATUS_BY_KIND[kind], failure.type ?? 'COMMAND_REJECTED', failure.message);
  }
  if (err instanceof WorkflowNotFoundError) {
    return new ApiError(404, 'ORDER_NOT_FOUND', 'There is no such order.');
  }
  if (err instanceof WorkflowExecutionAlreadyStartedError) {
    return new ApiError(409, 'ORDER_ALREADY_EXISTS', 'An order with this id already exists.');
  }
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) return commandTimeout();
  const code = grpcCode(err);
  if (code === GRPC_RESOURCE_EXHAUSTED) {
    return new ApiError(429, 'TOO_MANY_REQUESTS', 'This order is busy with other commands. Retry shortly.', {}, { 'Retry-After': '1' });
  }
  if (code === GRPC_UNAVAILABLE) {
    return new ApiError(503, 'TEMPORAL_UNAVAILABLE', 'The workflow service is unavailable. Retry shortly.', {}, { 'Retry-After': '2' });
  }
  return undefined;
}
