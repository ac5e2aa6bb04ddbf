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
  /** Gives a held reservation back to available stock; a no-op when there is none or it was already released. */
  releaseReservation(input: StockReservation): Promise<void>;
  /** Turns a held reservation into a sale: onHand and reserved both drop by its quantity. */
  commitReservation(input: StockReservation): Promise<void>;
  /** Puts a committed reservation's units back on hand (a cancelled confirmed order). */
  returnStock(input: StockReservation): Promise<void>;
  /** Takes `amountCents` from the customer's account for the payment; refuses with INSUFFICIENT_FUNDS. */
  debitAccount(input: { paymentId: string; customerId: string; orderId: string; amountCents: number }): Promise<void>;
  /** Gives back what the payment debited; a no-op when nothing was debited or it was already refunded. */
  refundPayment(input: { paymentId: string; customerId: string }): Promise<void>;
}
