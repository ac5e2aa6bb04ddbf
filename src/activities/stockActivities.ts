import { findProduct } from '../application/catalog';
import { executeStockCommand } from '../application/stock';
import { internalCommandId } from '../domain/commandIds';
import { findReservation, givenBackAs, type StockCommand } from '../domain/stock';
import type { TransactionalDb } from '../eventstore';
import type { CheckoutActivities } from './checkoutActivities';
import { activityMetadata, refuse, toActivityFailure } from './activityFailures';

export type StockActivities = Pick<CheckoutActivities, 'reserveStock' | 'commitReservation' | 'giveBackReservation' | 'releaseReservation' | 'returnStock'>;

/**
 * The saga's stock steps. Each is idempotent on (productId, reservationId): a retry after a crash
 * finds the step done and returns without writing.
 */
export function createStockActivities(db: TransactionalDb): StockActivities {
  const run = async (productId: string, command: StockCommand & { reservationId: string }) => {
    try {
      return await executeStockCommand(
        db,
        productId,
        command,
        activityMetadata(internalCommandId(command.type.toLowerCase(), command.reservationId), command.reservationId),
      );
    } catch (err) {
      throw toActivityFailure(err);
    }
  };

  return {
    async reserveStock({ reservationId, productId, quantity }) {
      // Stock exists for any catalog product (zero until restocked); an unknown product is a refusal.
      if (!(await findProduct(db, productId))) throw refuse('PRODUCT_NOT_FOUND', `There is no product ${productId}.`, 'rule');
      const { state } = await run(productId, { type: 'Reserve', reservationId, quantity });
      // The decider answers a reserve of a spent id with no events; for the saga "resolved" must
      // mean "the units are held (or already sold)", so a spent id is refused here.
      const status = findReservation(state, reservationId)?.status;
      if (status === 'released') throw refuse('RESERVATION_RELEASED', `Reservation ${reservationId} was already released.`, 'conflict');
      if (status === 'returned') throw refuse('RESERVATION_RETURNED', `Reservation ${reservationId} was already returned.`, 'conflict');
    },
    async giveBackReservation({ reservationId, productId }) {
      const { state } = await run(productId, { type: 'GiveBack', reservationId });
      const outcome = givenBackAs(findReservation(state, reservationId));
      // GiveBack accepts every state, so this is a bug: thrown as technical, for Temporal to retry.
      if (!outcome) throw new Error(`Reservation ${reservationId} of ${productId} still holds stock after it was given back`);
      return outcome;
    },
    async releaseReservation({ reservationId, productId }) {
      await run(productId, { type: 'Release', reservationId });
    },
    async commitReservation({ reservationId, productId }) {
      await run(productId, { type: 'Commit', reservationId });
    },
    async returnStock({ reservationId, productId }) {
      await run(productId, { type: 'Return', reservationId });
    },
  };
}
