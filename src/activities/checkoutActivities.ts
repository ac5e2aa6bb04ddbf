import type { GiveBackOutcome } from '../domain/stock';

/**
 * What the checkout saga asks of stock and payments. Every call is idempotent on its key, so an
 * activity retried after a crash or a timeout acts once. Business refusals are non-retryable
 * `ApplicationFailure`s whose type is the stable code: INSUFFICIENT_STOCK, PRODUCT_NOT_FOUND,
 * INSUFFICIENT_FUNDS. Anything else is technical and retried by Temporal.
 */
export interface StockReservation {
  /** One reservation per checkout attempt and product: `<orderId>-<attempt>`. */
  reservationId: string;
  productId: string;
}

export interface CheckoutActivities {
  /** Holds `quantity` units for the reservation; refuses with INSUFFICIENT_STOCK when available < quantity. */
  reserveStock(input: StockReservation & { quantity: number }): Promise<void>;
  /** Turns a held reservation into a sale: onHand and reserved both drop by its quantity. */
  commitReservation(input: StockReservation): Promise<void>;
  /**
   * The compensation of a reservation: gives its units back whatever became of it (released if
   * held, returned if committed, voided if it never happened) and answers which. Never refuses.
   */
  giveBackReservation(input: StockReservation): Promise<GiveBackOutcome>;
  /**
   * The compensations of sagas and cancellations recorded before the `compensations-always-finish`
   * patch (src/workflows/checkout.ts): a release refuses a committed reservation, a return a held one.
   */
  releaseReservation(input: StockReservation): Promise<void>;
  returnStock(input: StockReservation): Promise<void>;
  /** Takes `amountCents` from the customer's account for the payment; refuses with INSUFFICIENT_FUNDS. */
  debitAccount(input: { paymentId: string; customerId: string; orderId: string; amountCents: number }): Promise<void>;
  /** Gives back what the payment debited; a no-op when nothing was debited or it was already refunded. */
  refundPayment(input: { paymentId: string; customerId: string }): Promise<void>;
}
