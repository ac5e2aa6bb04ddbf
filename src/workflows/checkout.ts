import { ActivityFailure, ApplicationFailure, patched, proxyActivities, sleep } from '@temporalio/workflow';
import type { CheckoutActivities, StockReservation } from '../activities/checkoutActivities';
import type { CheckoutReport, CheckoutStep, OrderLine } from '../domain/order';
import { Compensations, COMPENSATIONS_ALWAYS_FINISH } from './compensations';
import { localFirst } from './localFirst';

export interface CheckoutInput {
  orderId: string;
  customerId: string;
  attempt: number;
  lines: Pick<OrderLine, 'productId' | 'quantity'>[];
  totalCents: number;
}

/** Refusals that no retry can change: they end the forward path at once. */
export const BUSINESS_FAILURES = ['INSUFFICIENT_STOCK', 'INSUFFICIENT_FUNDS', 'PRODUCT_NOT_FOUND', 'RESERVATION_RELEASED'];

/** A step's timeout and retries, in numbers the invariants derive the checkout's deadline from. */
export interface StepPolicy {
  startToCloseMs: number;
  initialIntervalMs: number;
  backoffCoefficient: number;
  maximumIntervalMs: number;
  /** Undefined: retried until it succeeds. */
  maximumAttempts?: number;
}

export const FORWARD_STEP: StepPolicy = { startToCloseMs: 10_000, initialIntervalMs: 200, backoffCoefficient: 2, maximumIntervalMs: 5_000, maximumAttempts: 8 };
/** Undoing must succeed eventually: no attempt limit. */
export const UNDO_STEP: StepPolicy = { startToCloseMs: 10_000, initialIntervalMs: 500, backoffCoefficient: 2, maximumIntervalMs: 30_000 };

function activityOptions(policy: StepPolicy, nonRetryableErrorTypes?: string[]) {
  const { startToCloseMs, initialIntervalMs, backoffCoefficient, maximumIntervalMs, maximumAttempts } = policy;
  return {
    startToCloseTimeout: startToCloseMs,
    retry: { initialInterval: initialIntervalMs, backoffCoefficient, maximumInterval: maximumIntervalMs, maximumAttempts, nonRetryableErrorTypes },
  };
}

/**
 * Every step of the saga is one short Postgres transaction keyed by the attempt's ids, so since
 * `local-checkout-steps` each runs as a local activity first (localFirst.ts): a forward step falls
 * back to the regular one with its 8 attempts, an undo to the regular one with no attempt limit,
 * so a compensation still runs until it succeeds. A business refusal ends a forward step at once.
 */
const LOCAL_CHECKOUT_STEPS = 'local-checkout-steps';
const forward = localFirst<CheckoutActivities>(LOCAL_CHECKOUT_STEPS, activityOptions(FORWARD_STEP, BUSINESS_FAILURES));
const undo = localFirst<CheckoutActivities>(LOCAL_CHECKOUT_STEPS, activityOptions(UNDO_STEP));
/** The undos only histories from before `compensations-always-finish` schedule: regular, as they were. */
const legacyUndo = proxyActivities<CheckoutActivities>(activityOptions(UNDO_STEP));

export const checkoutIds = (orderId: string, attempt: number) => ({ reservationId: `${orderId}-${attempt}`, paymentId: `${orderId}-${attempt}` });
export const checkoutWorkflowId = (orderId: string, attempt: number): string => `checkout-${orderId}-${attempt}`;

/**
 * The checkout saga: reserve every line, debit the customer, commit the reservations. On any
 * failure it runs the compensations registered so far, in reverse, and reports what it did. It
 * never throws: the order records the report either way. Since `checkout-in-actor` the order runs
 * it in its own workflow; orders placed before run it as their child (`checkoutWorkflow`).
 */
export async function runCheckoutSaga(input: CheckoutInput): Promise<CheckoutReport> {
  const { reservationId, paymentId } = checkoutIds(input.orderId, input.attempt);
  const compensations = new Compensations();
  const steps: CheckoutStep[] = [];
  /** Lines whose commit the saga saw succeed: only histories from before the patch choose their undo by it. */
  const committed = new Set<string>();
  try {
    for (const { productId, quantity } of input.lines) {
      const reservation = { reservationId, productId };
      // Registered before the step: a reservation that timed out may still have been made.
      compensations.add(`release stock of ${productId}`, () =>
        giveBackStock(reservation, () => (committed.has(productId) ? legacyUndo.returnStock(reservation) : legacyUndo.releaseReservation(reservation))),
      );
      await forward((a) => a.reserveStock({ ...reservation, quantity }));
      steps.push({ type: 'StockReserved', productId, quantity });
    }
    if (input.totalCents > 0) {
      compensations.add(`refund ${input.totalCents} cents`, () => undo((a) => a.refundPayment({ paymentId, customerId: input.customerId })));
      await forward((a) => a.debitAccount({ paymentId, customerId: input.customerId, orderId: input.orderId, amountCents: input.totalCents }));
      steps.push({ type: 'PaymentDebited', paymentId, amountCents: input.totalCents });
    }
    for (const { productId } of input.lines) {
      await forward((a) => a.commitReservation({ reservationId, productId }));
      committed.add(productId);
    }
    return { outcome: 'succeeded', reservationId, paymentId, steps };
  } catch (err) {
    const { code, message } = describeFailure(err);
    // Local steps reach the history only with the task that ran them: without this checkpoint a
    // worker killed mid-compensation would rerun the saga into its own tombstones and report those.
    if (patched(LOCAL_CHECKOUT_STEPS)) await sleep(1);
    return { outcome: 'failed', code, message, steps, compensations: await compensations.runAll() };
  }
}

/** The saga as a child workflow of the order (`checkout-<orderId>-<attempt>`): how orders placed before `checkout-in-actor` run it. */
export async function checkoutWorkflow(input: CheckoutInput): Promise<CheckoutReport> {
  return runCheckoutSaga(input);
}

/** A free order's cancellation refunds nothing (see undoCheckoutAttempt). */
const NO_REFUND_FOR_FREE_ORDERS = 'no-refund-for-free-orders';

/**
 * Gives back what a checkout attempt took, after the fact: the stock of every line (released,
 * returned or tombstoned, whatever state it is in) and the payment. For a confirmed order being
 * cancelled, and for a saga ended from outside before it could compensate.
 */
export async function undoCheckoutAttempt(input: {
  customerId: string;
  reservationId: string;
  paymentId: string;
  amountCents: number;
  productIds: string[];
}): Promise<string[]> {
  const compensations = new Compensations();
  for (const productId of input.productIds) {
    const reservation = { reservationId: input.reservationId, productId };
    compensations.add(`return stock of ${productId}`, () => giveBackStock(reservation, () => legacyUndo.returnStock(reservation)));
  }
  // A free order was never debited (the saga skips its debit): refunding it would open a wallet
  // and void a payment that never happened. Histories from before kept their refund.
  if (input.amountCents > 0 || !patched(NO_REFUND_FOR_FREE_ORDERS)) {
    compensations.add('refund payment', () => undo((a) => a.refundPayment({ paymentId: input.paymentId, customerId: input.customerId })));
  }
  return compensations.runAll();
}

/**
 * Gives a line's stock back from whatever state its reservation is in (a commit that timed out may
 * have happened) and says which it came to. `beforePatch` is the undo that histories recorded
 * before the patch scheduled, chosen by what the saga had seen.
 */
async function giveBackStock(reservation: StockReservation, beforePatch: () => Promise<void>): Promise<string | void> {
  if (!patched(COMPENSATIONS_ALWAYS_FINISH)) return beforePatch();
  const outcome = await undo((a) => a.giveBackReservation(reservation));
  return `${outcome} ${outcome === 'voided' ? 'reservation' : 'stock'} of ${reservation.productId}`;
}

function describeFailure(err: unknown): { code: string; message: string } {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  // Activities mark every refusal of theirs non-retryable and name it by its stable code.
  if (cause instanceof ApplicationFailure && cause.type && (cause.nonRetryable || BUSINESS_FAILURES.includes(cause.type))) {
    return { code: cause.type, message: cause.message };
  }
  return { code: 'CHECKOUT_FAILED', message: 'A checkout step kept failing; everything it did was undone.' };
}
