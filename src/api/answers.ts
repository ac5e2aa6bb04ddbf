import { z } from 'zod';
import { ORDER_STATUSES } from '../domain/order';

/*
 * The schemas of answers more than one route table sends: an order, a recorded event, a product
 * with its stock, an account, a projection's status, a dead letter. The routes' contracts name
 * them, so the OpenAPI document (and the typed client generated from it) says what a client reads;
 * the suite checks every answer it gets against them (test/support/contract.ts).
 */

const int = () => z.number().int();
/** An ISO 8601 instant as Postgres or `Date#toISOString` wrote it. */
const instant = () => z.string().describe('An ISO 8601 instant.');

export const orderLineAnswer = z.object({
  productId: z.string(),
  name: z.string(),
  unitPriceCents: int().describe('As the catalog priced it when the line was last added to.'),
  quantity: int(),
});

const checkoutFailureAnswer = z.object({ attempt: int(), code: z.string(), message: z.string() });

const addressAnswer = z.object({
  name: z.string(),
  line1: z.string(),
  line2: z.string().optional(),
  city: z.string(),
  postalCode: z.string(),
  country: z.string(),
});

/** The order's state as the actor folds it (`OrderState`), without its id. */
const orderStateFields = {
  status: z.enum(ORDER_STATUSES),
  customerId: z.string().nullable(),
  shippingAddress: addressAnswer.nullable(),
  items: z.array(orderLineAnswer),
  totalCents: int(),
  checkoutAttempts: int().describe('How many times the order was placed.'),
  lastCheckoutFailure: checkoutFailureAnswer.nullable(),
  checkout: z
    .object({ attempt: int(), reservationId: z.string(), paymentId: z.string(), amountCents: int() })
    .nullable()
    .describe('Set once a checkout succeeded: what a cancellation gives back.'),
  cancellationReason: z.string().nullable(),
};

/** `OrderState` as it is folded (the console shows it whole, its id included; null before the first event). */
export const orderStateAnswer = z.object({ ...orderStateFields, status: z.enum(['NONE', ...ORDER_STATUSES]), orderId: z.string().nullable() });

/** An order as the API reads it (`orderView`): its id, its version, its state. */
export const orderAnswer = z.object({ orderId: z.string(), version: int().min(1).describe('The order version: its ETag.'), ...orderStateFields });

/** One order in a list (`OrderListItem`). */
export const orderListItemAnswer = z.object({
  orderId: z.string(),
  status: z.enum(ORDER_STATUSES),
  items: z.array(orderLineAnswer),
  totalCents: int(),
  version: int(),
  createdAt: instant(),
  updatedAt: instant(),
  lastCheckoutFailure: checkoutFailureAnswer.nullable(),
});

/** One event of a stream as the store recorded it, upcast to its current shape. */
export const recordedEventAnswer = z.object({
  globalPosition: int(),
  transactionId: z.string(),
  streamId: z.string(),
  streamType: z.string(),
  version: int(),
  eventId: z.string(),
  type: z.string(),
  schemaVersion: int(),
  data: z.unknown().describe("The event's payload; its shape is the event type's."),
  metadata: z.record(z.string(), z.unknown()).describe('correlationId, causationId, commandId, workflowId, ...'),
  occurredAt: instant(),
  recordedAt: instant(),
});

export const stockLevelAnswer = z.object({ onHand: int(), reserved: int(), available: int().describe('onHand - reserved.') });

/** A product as a command on it answers (`productView`): the contract names the fields a client may read. */
export const productAnswer = z.object({
  productId: z.string(),
  name: z.string(),
  description: z.string(),
  priceCents: int(),
  version: int().describe('The product stream version this answer is of.'),
});

/** A product of the catalog with its stock (`CatalogProduct`). */
export const catalogProductAnswer = productAnswer.extend({ stock: stockLevelAnswer });

/** An account as the API reads it (`accountView`). */
export const accountAnswer = z.object({
  customerId: z.string(),
  balanceCents: int(),
  totalDepositsCents: int(),
  totalWithdrawalsCents: int(),
  transactionCount: int(),
  version: int().describe('The account stream version this answer is of.'),
});

/** A projection's position, lag and rebuild progress (`ProjectionStatus`). */
export const projectionStatusAnswer = z.object({
  name: z.string(),
  state: z.enum(['running', 'rebuilding', 'stopped']),
  checkpoint: z.object({ transactionId: z.string(), globalPosition: int(), updatedAt: instant() }).nullable(),
  lag: z.object({ events: int(), ms: z.number() }),
  parkedEvents: int(),
  rebuild: z.object({ startedAt: instant(), processed: int(), total: int() }).nullable(),
});

/** An event a projection parked (`DeadLetter`). */
export const deadLetterAnswer = z.object({
  id: int(),
  projection: z.string(),
  eventId: z.string(),
  streamId: z.string(),
  version: int(),
  globalPosition: int(),
  eventType: z.string(),
  error: z.string(),
  attempts: int(),
  parkedAt: instant(),
});
