import type { Queryable } from '../eventstore';
import { createOrderActivities } from './orderActivities';

/** Every activity the worker registers, bound to its database. */
export function createActivities(db: Queryable) {
  return { ...createOrderActivities(db) };
}
