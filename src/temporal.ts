import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';

const GRPC_RESOURCE_EXHAUSTED = 8;
const retryByDefault = defaultGrpcRetryOptions();

/**
 * The SDK's own gRPC retries, except for an update Temporal refused because the order already has
 * as many in flight as it admits: retried in the background, that client would wait up to its
 * deadline; answered at once, it gets a prompt 429 with Retry-After.
 */
const retries = makeGrpcRetryInterceptor({
  ...retryByDefault,
  retryableDecider: (attempt, status) =>
    !(status.code === GRPC_RESOURCE_EXHAUSTED && /in-flight updates/i.test(status.details)) && retryByDefault.retryableDecider(attempt, status),
});

/** Connects a client for the API (or tests) to the configured Temporal server. */
export async function connectClient(address: string, namespace: string): Promise<Client> {
  const connection = await Connection.connect({ address, interceptors: [retries] });
  return new Client({ connection, namespace });
}

export function connectWorker(address: string): Promise<NativeConnection> {
  return NativeConnection.connect({ address });
}
