import type { Client } from '@temporalio/client';
import type { orderWorkflow } from '../../src/workflows/order';
import { orderWorkflowId, type OrderWorkflowInput } from '../../src/workflows/orderContract';
import { testEnv } from './harness';

/** Starts an order actor directly through the Temporal client (no HTTP), with test-sized settings. */
export function startOrderActor(client: Client, orderId: string, settings: Partial<Omit<OrderWorkflowInput, 'orderId'>> = {}, taskQueue = testEnv.taskQueue) {
  return client.workflow.start<typeof orderWorkflow>('orderWorkflow', {
    workflowId: orderWorkflowId(orderId),
    taskQueue,
    args: [{ orderId, cartTtlMs: 30 * 60_000, historyLimit: 2000, ...settings }],
  });
}

export const sampleAddress = { name: 'Ada Lovelace', line1: '12 St James Square', city: 'London', postalCode: 'SW1Y 4JH', country: 'GB' };
