/**
 * The checkout baseline: a bare workflow shaped like one order (updates, no-op activities, one
 * child workflow), with none of the domain. Bundled by bench/checkout.ts onto its own task queue.
 * Without activities (`withActivities` false) it is the "Temporal floor" flow of bench/floor.ts:
 * the same updates and child workflow, nothing else.
 */
import { condition, defineQuery, defineUpdate, executeChild, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';

export interface BareActivities {
  noop(): Promise<void>;
}

const { noop: noopActivity } = proxyActivities<BareActivities>({ startToCloseTimeout: '10 seconds' });

export const createUpdate = defineUpdate<number>('create');
export const addUpdate = defineUpdate<number>('add');
export const placeUpdate = defineUpdate<string>('place');
export const statusQuery = defineQuery<string>('status');

export async function bareCheckoutWorkflow(withActivities = true): Promise<void> {
  for (let i = 0; i < 3; i++) if (withActivities) await noopActivity();
}

export async function bareOrderWorkflow(withActivities = true): Promise<string> {
  const noop = withActivities ? noopActivity : () => Promise.resolve();
  let status = 'NEW';
  let version = 0;
  let done = false;
  setHandler(statusQuery, () => status);
  setHandler(createUpdate, async () => {
    await noop();
    status = 'PENDING';
    return ++version;
  });
  setHandler(addUpdate, async () => {
    await noop(); // lookUpProduct
    await noop(); // appendOrderEvents
    return ++version;
  });
  setHandler(placeUpdate, async () => {
    await noop();
    status = 'PLACED';
    await executeChild(bareCheckoutWorkflow, { workflowId: `${workflowInfo().workflowId}-checkout`, args: [withActivities] });
    await noop();
    status = 'CONFIRMED';
    done = true;
    return status;
  });
  await condition(() => done);
  return status;
}
