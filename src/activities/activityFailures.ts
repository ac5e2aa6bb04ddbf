import { ApplicationFailure, asyncLocalStorage } from '@temporalio/activity';
import { DomainError } from '../domain/decider';
import type { EventMetadata } from '../eventstore';

/**
 * A domain refusal will be refused again on every retry: it becomes a non-retryable failure whose
 * type is the stable code, with the kind as its detail (as the order actor reports them). Anything
 * else (Postgres down, a lost connection) is thrown as it is, for Temporal to retry.
 */
export function toActivityFailure(err: unknown): unknown {
  return err instanceof DomainError ? ApplicationFailure.nonRetryable(err.message, err.code, { kind: err.kind }) : err;
}

export function refuse(code: string, message: string, kind: DomainError['kind']): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, code, { kind });
}

/** Who caused the events: the activity's workflow when run by a worker (nothing outside one). */
export function activityMetadata(commandId: string, correlationId: string): EventMetadata {
  const info = asyncLocalStorage.getStore()?.info;
  return {
    commandId,
    correlationId,
    causationId: commandId,
    ...(info ? { workflowId: info.workflowExecution?.workflowId, activityId: info.activityId, attempt: info.attempt } : {}),
  };
}
