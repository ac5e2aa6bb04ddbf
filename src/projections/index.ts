import { accountSummaryProjection } from './accountSummary';
import { catalogProjection } from './catalog';
import { orderSummaryProjection } from './orderSummary';
import { notificationsConsumer } from './notifications';
import type { Projection } from './types';

export * from './types';
export * from './projector';
export { accountSummaryProjection } from './accountSummary';
export { catalogProjection } from './catalog';
export { orderSummaryProjection } from './orderSummary';
export { unfolded } from './streamFold';
export { notificationsConsumer, deliverNotification, handleNotification } from './notifications';

/** Every projection the service runs (worker and `npm start`), by name. */
export const allProjections: readonly Projection[] = [orderSummaryProjection, accountSummaryProjection, catalogProjection, notificationsConsumer];

export function projectionNamed(name: string): Projection | undefined {
  return allProjections.find((p) => p.name === name);
}
export { rebuildProjection, REBUILD_LOCK, type RebuildOptions } from './rebuild';
export { projectionStatuses, listDeadLetters, retryDeadLetter, type ProjectionStatus, type DeadLetter, type RetryOutcome } from './admin';
