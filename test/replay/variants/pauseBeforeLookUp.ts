import { sleep, type WorkflowInterceptorsFactory } from '@temporalio/workflow';

/*
 * A deliberate change to the order workflow, for test/replay/replayGate.test.ts only: one more
 * command (a 1 ms timer) right before every `decidePricedOrderCommand` step (regular or local),
 * that is on the AddItem and PlaceOrder paths, as if `await sleep(1)` had been written into
 * src/workflows/orderActor.ts before the step that looks the catalog up.
 *
 * It is a workflow interceptor, bundled together with the real src/workflows: it runs inside the
 * order workflow's sandbox and its timer lands in the same command sequence, so the change hits
 * exactly one path of the real workflow without copying or editing it. Each variant module in this
 * folder exports `interceptors` and differs only in how the pause is guarded.
 */

export const PATCH_ID = 'pause-before-catalog-lookup';
export const CHANGED_ACTIVITY = 'decidePricedOrderCommand';

export function pauseBeforeLookUp(takeNewPath: () => boolean): WorkflowInterceptorsFactory {
  return () => ({
    outbound: [
      {
        async scheduleActivity(input, next) {
          if (input.activityType === CHANGED_ACTIVITY && takeNewPath()) await sleep(1);
          return next(input);
        },
        // Orders since `local-order-steps` run their steps as local activities.
        async scheduleLocalActivity(input, next) {
          if (input.activityType === CHANGED_ACTIVITY && takeNewPath()) await sleep(1);
          return next(input);
        },
      },
    ],
  });
}
