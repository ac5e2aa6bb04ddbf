import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';

/** Connects a client for the API (or tests) to the configured Temporal server. */
export async function connectClient(address: string, namespace: string): Promise<Client> {
  const connection = await Connection.connect({ address });
  return new Client({ connection, namespace });
}

export function connectWorker(address: string): Promise<NativeConnection> {
  return NativeConnection.connect({ address });
}
