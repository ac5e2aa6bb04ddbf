import type { TransactionalDb } from '../eventstore';
import type { CheckoutActivities } from './checkoutActivities';
import { createOrderActivities } from './orderActivities';
import { createPaymentActivities } from './paymentActivities';
import { createStockActivities } from './stockActivities';

/** Every activity the worker registers, bound to its database. */
export function createActivities(db: TransactionalDb) {
  const checkout: CheckoutActivities = { ...createStockActivities(db), ...createPaymentActivities(db) };
  return { ...createOrderActivities(db), ...checkout };
}
