import { MAX_AMOUNT_CENTS } from './account';
import { DomainError, type Decider } from './decider';
import { streamNames } from './streamNames';

/*
 * The order: a cart that is placed, checked out by the saga, shipped, or cancelled or expired.
 * Pure: prices arrive inside the command (the host looks them up in the catalog), time lives on
 * the stored event's envelope, ids are chosen by the host.
 *
 * Pricing rule: a line shows the catalog price of when it was last added to, as an estimate; the
 * price paid is the catalog's when the order is placed. PlaceOrder reprices every line and its
 * OrderPlaced event carries the lines and total that checkout charges. A client that wants to
 * approve the total first sends it as `expectedTotalCents`, and a different total is refused
 * (PRICES_CHANGED) before anything is charged.
 */

/** `order-<orderId>`: every order's stream. */
export const orderStreams = streamNames('order');
export const ORDER_STREAM_TYPE = orderStreams.streamType;
export const orderStreamId = orderStreams.streamId;

export const ORDER_STATUSES = ['PENDING', 'PLACED', 'CONFIRMED', 'SHIPPED', 'CANCELLED', 'EXPIRED'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];
export const TERMINAL_STATUSES: readonly OrderStatus[] = ['SHIPPED', 'CANCELLED', 'EXPIRED'];

export interface Address {
  name: string;
  line1: string;
  line2?: string;
  city: string;
  postalCode: string;
  country: string;
}

export interface OrderLine {
  productId: string;
  name: string;
  /** Integer minor units, as the catalog priced it when the line was last added to. */
  unitPriceCents: number;
  quantity: number;
}

export interface CheckoutFailure {
  attempt: number;
  code: string;
  message: string;
}

/** What a confirmed checkout holds: undone by a cancellation. */
export interface ConfirmedCheckout {
  attempt: number;
  reservationId: string;
  paymentId: string;
  amountCents: number;
}

/** What the checkout saga reports back to the order. */
export type CheckoutReport =
  | { outcome: 'succeeded'; reservationId: string; paymentId: string; steps: CheckoutStep[] }
  | { outcome: 'failed'; code: string; message: string; steps: CheckoutStep[]; compensations: string[] };

export type CheckoutStep = { type: 'StockReserved'; productId: string; quantity: number } | { type: 'PaymentDebited'; paymentId: string; amountCents: number };

export interface OrderState {
  status: OrderStatus | 'NONE';
  orderId: string | null;
  customerId: string | null;
  shippingAddress: Address | null;
  items: OrderLine[];
  totalCents: number;
  /** How many times the order was placed; the saga of attempt N is `checkout-<orderId>-<N>`. */
  checkoutAttempts: number;
  lastCheckoutFailure: CheckoutFailure | null;
  /** Set once a checkout succeeded: the reservation and payment a cancellation gives back. */
  checkout: ConfirmedCheckout | null;
  cancellationReason: string | null;
}

export const MIN_QUANTITY = 1;
export const MAX_QUANTITY = 1000;
/** A wallet never pays more in one debit, so a cart never grows past what checkout can take. */
export const MAX_ORDER_TOTAL_CENTS = MAX_AMOUNT_CENTS;

export interface CatalogEntry {
  name: string;
  unitPriceCents: number;
}

/**
 * `maxTotalCents`: the host's cap on the order's total. Optional only so that orders whose
 * histories were decided before the cap existed replay as they were decided (see the workflow).
 */
interface TotalLimit {
  maxTotalCents?: number;
}

export type OrderCommand =
  | { type: 'CreateOrder'; orderId: string; customerId: string; shippingAddress?: Address }
  /** `product` is the catalog's entry, or null when the catalog does not know the product. */
  | ({ type: 'AddItem'; productId: string; quantity: number; product: CatalogEntry | null } & TotalLimit)
  | ({ type: 'ChangeItemQuantity'; productId: string; quantity: number } & TotalLimit)
  | { type: 'RemoveItem'; productId: string }
  | { type: 'ChangeShippingAddress'; address: Address }
  /**
   * `catalog`: every line's product as the catalog has it now (null: no longer in it); without it
   * the lines keep their cart prices (orders placed before checkout repriced).
   */
  | ({ type: 'PlaceOrder'; catalog?: Record<string, CatalogEntry | null>; expectedTotalCents?: number } & TotalLimit)
  /** `compensations`: what the host undid before cancelling a confirmed order (refund, returned stock). */
  | { type: 'CancelOrder'; reason: string; compensations?: string[] }
  /** Internal: the saga of attempt `attempt` finished. */
  | { type: 'RecordCheckout'; attempt: number; report: CheckoutReport }
  | { type: 'MarkShipped' }
  | { type: 'ExpireOrder' };

export type OrderEvent =
  | { type: 'OrderCreated'; data: { orderId: string; customerId: string; shippingAddress: Address | null } }
  /** Schema v2 (src/domain/orderUpcasters.ts): `lineTotalCents` is unitPriceCents × quantity of this event. */
  | { type: 'OrderItemAdded'; data: { productId: string; name: string; unitPriceCents: number; quantity: number; lineTotalCents: number } }
  | { type: 'OrderItemQuantityChanged'; data: { productId: string; oldQuantity: number; newQuantity: number } }
  | { type: 'OrderItemRemoved'; data: { productId: string; quantity: number } }
  | { type: 'ShippingAddressChanged'; data: { oldAddress: Address | null; newAddress: Address } }
  | { type: 'OrderPlaced'; data: { checkoutAttempt: number; totalCents: number; items: OrderLine[] } }
  | { type: 'StockReserved'; data: { attempt: number; productId: string; quantity: number } }
  | { type: 'PaymentDebited'; data: { attempt: number; paymentId: string; amountCents: number } }
  | { type: 'CheckoutSucceeded'; data: { attempt: number; reservationId: string; paymentId: string; totalCents: number } }
  | { type: 'CheckoutFailed'; data: { attempt: number; code: string; message: string; compensations: string[] } }
  | { type: 'OrderCancelled'; data: { reason: string; previousStatus: OrderStatus; compensations: string[] } }
  | { type: 'OrderShipped'; data: Record<string, never> }
  | { type: 'OrderExpired'; data: { previousStatus: OrderStatus } };

export type OrderCommandType = OrderCommand['type'];
export type OrderEventType = OrderEvent['type'];

export const initialOrderState: OrderState = {
  status: 'NONE',
  orderId: null,
  customerId: null,
  shippingAddress: null,
  items: [],
  totalCents: 0,
  checkoutAttempts: 0,
  lastCheckoutFailure: null,
  checkout: null,
  cancellationReason: null,
};

export function isTerminal(status: OrderState['status']): boolean {
  return (TERMINAL_STATUSES as readonly string[]).includes(status);
}

function requireExisting(state: OrderState): OrderStatus {
  if (state.status === 'NONE') throw new DomainError('ORDER_NOT_FOUND', 'This order does not exist.', 'not_found');
  if (isTerminal(state.status)) {
    throw new DomainError('ORDER_CLOSED', `The order is ${state.status.toLowerCase()}; it takes no more commands.`, 'conflict');
  }
  return state.status;
}

function requirePending(state: OrderState): void {
  const status = requireExisting(state);
  if (status !== 'PENDING') {
    throw new DomainError('ORDER_NOT_PENDING', `The order is ${status.toLowerCase()}; only a pending order can be changed.`, 'conflict');
  }
}

function requireQuantity(quantity: number): void {
  if (!Number.isInteger(quantity) || quantity < MIN_QUANTITY || quantity > MAX_QUANTITY) {
    throw new DomainError('INVALID_QUANTITY', `Quantity must be a whole number from ${MIN_QUANTITY} to ${MAX_QUANTITY}.`);
  }
}

function requireAddress(address: Address): void {
  const required = [address.name, address.line1, address.city, address.postalCode, address.country];
  if (required.some((field) => typeof field !== 'string' || field.trim() === '')) {
    throw new DomainError('INVALID_ADDRESS', 'An address needs a name, first line, city, postal code and country.');
  }
}

function findLine(state: OrderState, productId: string): OrderLine {
  const line = state.items.find((l) => l.productId === productId);
  if (!line) throw new DomainError('ITEM_NOT_IN_CART', `Product ${productId} is not in the cart.`);
  return line;
}

function totalOf(items: readonly OrderLine[]): number {
  return items.reduce((sum, l) => sum + l.unitPriceCents * l.quantity, 0);
}

function requireTotalWithin(totalCents: number, { maxTotalCents }: TotalLimit): void {
  if (maxTotalCents !== undefined && totalCents > maxTotalCents) {
    throw new DomainError('ORDER_TOTAL_TOO_LARGE', `The order's total would be ${totalCents} cents; an order can total at most ${maxTotalCents}.`);
  }
}

/** The cart's lines at the catalog's current prices; a product gone from the catalog cannot be sold. */
function priceLines(items: readonly OrderLine[], catalog: Record<string, CatalogEntry | null>): OrderLine[] {
  return items.map((line) => {
    const product = Object.hasOwn(catalog, line.productId) ? catalog[line.productId] : null;
    if (!product) throw new DomainError('PRODUCT_NOT_FOUND', `Product ${line.productId} is no longer in the catalog; remove it from the cart.`);
    return { ...line, name: product.name, unitPriceCents: product.unitPriceCents };
  });
}

export function decideOrder(command: OrderCommand, state: OrderState): OrderEvent[] {
  switch (command.type) {
    case 'CreateOrder': {
      if (state.status !== 'NONE') throw new DomainError('ORDER_ALREADY_EXISTS', 'This order already exists.', 'conflict');
      if (command.customerId.trim() === '') throw new DomainError('INVALID_CUSTOMER', 'An order needs a customer.');
      if (command.shippingAddress) requireAddress(command.shippingAddress);
      return [
        {
          type: 'OrderCreated',
          data: { orderId: command.orderId, customerId: command.customerId, shippingAddress: command.shippingAddress ?? null },
        },
      ];
    }
    case 'AddItem': {
      requirePending(state);
      requireQuantity(command.quantity);
      if (!command.product) throw new DomainError('PRODUCT_NOT_FOUND', `Product ${command.productId} is not in the catalog.`);
      const existing = state.items.find((l) => l.productId === command.productId);
      // The same product added twice is one line: the merged quantity must respect the limit too.
      if (existing) requireQuantity(existing.quantity + command.quantity);
      // The whole line takes the current price (see evolve), so the new total is priced at it too.
      const others = state.items.filter((l) => l.productId !== command.productId);
      requireTotalWithin(totalOf(others) + command.product.unitPriceCents * ((existing?.quantity ?? 0) + command.quantity), command);
      return [
        {
          type: 'OrderItemAdded',
          data: {
            productId: command.productId,
            name: command.product.name,
            unitPriceCents: command.product.unitPriceCents,
            quantity: command.quantity,
            lineTotalCents: command.product.unitPriceCents * command.quantity,
          },
        },
      ];
    }
    case 'ChangeItemQuantity': {
      requirePending(state);
      requireQuantity(command.quantity);
      const line = findLine(state, command.productId);
      if (line.quantity === command.quantity) return [];
      requireTotalWithin(state.totalCents + line.unitPriceCents * (command.quantity - line.quantity), command);
      return [
        {
          type: 'OrderItemQuantityChanged',
          data: { productId: command.productId, oldQuantity: line.quantity, newQuantity: command.quantity },
        },
      ];
    }
    case 'RemoveItem': {
      requirePending(state);
      const line = findLine(state, command.productId);
      return [{ type: 'OrderItemRemoved', data: { productId: command.productId, quantity: line.quantity } }];
    }
    case 'ChangeShippingAddress': {
      requirePending(state);
      requireAddress(command.address);
      return [{ type: 'ShippingAddressChanged', data: { oldAddress: state.shippingAddress, newAddress: command.address } }];
    }
    case 'PlaceOrder': {
      requirePending(state);
      if (state.items.length === 0) throw new DomainError('CART_EMPTY', 'An empty cart cannot be placed.');
      if (!state.shippingAddress) {
        throw new DomainError('SHIPPING_ADDRESS_MISSING', 'Set a shipping address before placing the order.');
      }
      const items = command.catalog ? priceLines(state.items, command.catalog) : state.items;
      const totalCents = totalOf(items);
      requireTotalWithin(totalCents, command);
      if (command.expectedTotalCents !== undefined && command.expectedTotalCents !== totalCents) {
        throw new DomainError(
          'PRICES_CHANGED',
          `At today's catalog prices the order totals ${totalCents} cents, not ${command.expectedTotalCents}; check out again with the new total.`,
          'conflict',
        );
      }
      return [{ type: 'OrderPlaced', data: { checkoutAttempt: state.checkoutAttempts + 1, totalCents, items } }];
    }
    case 'CancelOrder': {
      const status = requireExisting(state);
      if (command.reason.trim() === '') throw new DomainError('CANCELLATION_REASON_REQUIRED', 'Say why the order is cancelled.');
      if (status === 'CONFIRMED' && !command.compensations) {
        // A confirmed order holds stock and money: the host must give them back first.
        throw new DomainError('COMPENSATION_REQUIRED', 'A confirmed order is cancelled only after its payment and stock are given back.', 'conflict');
      }
      return [{ type: 'OrderCancelled', data: { reason: command.reason, previousStatus: status, compensations: command.compensations ?? [] } }];
    }
    case 'RecordCheckout': {
      const status = requireExisting(state);
      if (status !== 'PLACED' || command.attempt !== state.checkoutAttempts) {
        throw new DomainError('CHECKOUT_NOT_RUNNING', `No checkout attempt ${command.attempt} is running for this order.`, 'conflict');
      }
      const { attempt, report } = command;
      const steps: OrderEvent[] = report.steps.map((step) =>
        step.type === 'StockReserved'
          ? { type: 'StockReserved', data: { attempt, productId: step.productId, quantity: step.quantity } }
          : { type: 'PaymentDebited', data: { attempt, paymentId: step.paymentId, amountCents: step.amountCents } },
      );
      const last: OrderEvent =
        report.outcome === 'succeeded'
          ? {
              type: 'CheckoutSucceeded',
              data: { attempt, reservationId: report.reservationId, paymentId: report.paymentId, totalCents: state.totalCents },
            }
          : { type: 'CheckoutFailed', data: { attempt, code: report.code, message: report.message, compensations: report.compensations } };
      return [...steps, last];
    }
    case 'MarkShipped': {
      const status = requireExisting(state);
      if (status !== 'CONFIRMED') {
        throw new DomainError('ORDER_NOT_CONFIRMED', `The order is ${status.toLowerCase()}; only a confirmed order ships.`, 'conflict');
      }
      return [{ type: 'OrderShipped', data: {} }];
    }
    case 'ExpireOrder': {
      requirePending(state);
      return [{ type: 'OrderExpired', data: { previousStatus: 'PENDING' } }];
    }
  }
}

function withItems(state: OrderState, items: OrderLine[]): OrderState {
  return { ...state, items, totalCents: totalOf(items) };
}

export function evolveOrder(state: OrderState, event: OrderEvent): OrderState {
  switch (event.type) {
    case 'OrderCreated':
      return {
        ...initialOrderState,
        status: 'PENDING',
        orderId: event.data.orderId,
        customerId: event.data.customerId,
        shippingAddress: event.data.shippingAddress,
      };
    case 'OrderItemAdded': {
      const { productId, name, unitPriceCents, quantity } = event.data;
      const existing = state.items.find((l) => l.productId === productId);
      const items = existing
        ? state.items.map((l) => (l.productId === productId ? { ...l, name, unitPriceCents, quantity: l.quantity + quantity } : l))
        : [...state.items, { productId, name, unitPriceCents, quantity }];
      return withItems(state, items);
    }
    case 'OrderItemQuantityChanged':
      return withItems(
        state,
        state.items.map((l) => (l.productId === event.data.productId ? { ...l, quantity: event.data.newQuantity } : l)),
      );
    case 'OrderItemRemoved':
      return withItems(
        state,
        state.items.filter((l) => l.productId !== event.data.productId),
      );
    case 'ShippingAddressChanged':
      return { ...state, shippingAddress: event.data.newAddress };
    case 'OrderPlaced':
      // The lines as priced for checkout (before checkout repriced, the cart's own lines).
      return { ...withItems(state, event.data.items), status: 'PLACED', checkoutAttempts: event.data.checkoutAttempt };
    case 'StockReserved':
    case 'PaymentDebited':
      return state; // the saga's progress, told on the order's stream; the outcome event changes state
    case 'CheckoutSucceeded':
      return {
        ...state,
        status: 'CONFIRMED',
        lastCheckoutFailure: null,
        checkout: {
          attempt: event.data.attempt,
          reservationId: event.data.reservationId,
          paymentId: event.data.paymentId,
          amountCents: event.data.totalCents,
        },
      };
    case 'CheckoutFailed':
      // Back to the cart, so the customer can fix it and try again.
      return { ...state, status: 'PENDING', lastCheckoutFailure: { attempt: event.data.attempt, code: event.data.code, message: event.data.message } };
    case 'OrderCancelled':
      return { ...state, status: 'CANCELLED', cancellationReason: event.data.reason };
    case 'OrderShipped':
      return { ...state, status: 'SHIPPED' };
    case 'OrderExpired':
      return { ...state, status: 'EXPIRED' };
  }
}

export const orderDecider: Decider<OrderCommand, OrderState, OrderEvent> = {
  initialState: initialOrderState,
  decide: decideOrder,
  evolve: evolveOrder,
};
