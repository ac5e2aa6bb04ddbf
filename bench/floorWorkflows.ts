/**
 * The floor section's throwaway workflows (bench/floor.ts), bundled for its own worker: an update
 * that does nothing, awaits one regular activity or one local activity, or awaits the one local
 * activity of an order command (a look-up and an append); and the bare order flow, whose
 * activity-free run is the "Temporal floor" of a checkout.
 */
import { condition, defineSignal, defineUpdate, proxyActivities, proxyLocalActivities, setHandler } from '@temporalio/workflow';

export { bareCheckoutWorkflow, bareOrderWorkflow } from './bareWorkflow';

export interface FloorActivities {
  /** `select 1` on the application's pool: one Postgres round trip. */
  selectOne(): Promise<void>;
  /** `select 1`, then a one-row INSERT into a bench table: an order command's look-up and append, without the catalog and the event store. */
  lookUpAndInsert(): Promise<void>;
}

const regular = proxyActivities<FloorActivities>({ startToCloseTimeout: '10 seconds' });
const local = proxyLocalActivities<FloorActivities>({ startToCloseTimeout: '10 seconds' });

export const floorUpdates = {
  none: defineUpdate<void>('none'),
  regular: defineUpdate<void>('regular'),
  local: defineUpdate<void>('local'),
  /** An order command's shape: one local activity that looks up (`select 1`), then appends (a one-row INSERT). */
  command: defineUpdate<void>('command'),
};
export type FloorUpdateKind = keyof typeof floorUpdates;
export const stopSignal = defineSignal('stop');

/** Takes updates until it is told to stop. */
export async function floorUpdateWorkflow(): Promise<void> {
  let stopped = false;
  setHandler(floorUpdates.none, () => undefined);
  setHandler(floorUpdates.regular, () => regular.selectOne());
  setHandler(floorUpdates.local, () => local.selectOne());
  setHandler(floorUpdates.command, () => local.lookUpAndInsert());
  setHandler(stopSignal, () => void (stopped = true));
  await condition(() => stopped);
}
