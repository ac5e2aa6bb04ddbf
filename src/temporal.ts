import { Client, Connection, isGrpcServiceError } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { NativeConnection } from '@temporalio/worker';
import { temporalClientInterceptors } from './telemetry';

/** Connects a client for the API (or tests) to the configured Temporal server. */
export async function connectClient(address: string, namespace: string): Promise<Client> {
  const connection = await Connection.connect({ address });
  return new Client({ connection, namespace, interceptors: temporalClientInterceptors() });
}

export function connectWorker(address: string): Promise<NativeConnection> {
  return NativeConnection.connect({ address });
}

/** What Temporal's frontend answers while its own database is down (and until it has read it again). */
export const NAMESPACE_NOT_FOUND = /Namespace \S+ is not found/i;
const GRPC_NOT_FOUND = 5;

/**
 * Whether Temporal says the workflow does not exist: a WorkflowNotFoundError, or the bare gRPC
 * NOT_FOUND some calls (fetchHistory) give. Not when it is the namespace that is "not found": the
 * client reports that as a WorkflowNotFoundError too, but the service is unavailable then and the
 * workflow may well be running. Taking it for missing would answer 404 for a live order, or let a
 * client resend a command that ran.
 */
export function isWorkflowMissing(err: unknown): boolean {
  const notFound = err instanceof WorkflowNotFoundError || (isGrpcServiceError(err) && Number(err.code) === GRPC_NOT_FOUND);
  return notFound && !NAMESPACE_NOT_FOUND.test((err as Error).message);
}
