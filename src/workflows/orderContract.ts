/*
 * The order actor's public interface: what it accepts (validated with the same schemas in the
 * HTTP API and in the workflow's update validators), what it answers, and the names of its
 * signals, updates and queries. Safe to import from workflow code and from clients.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import type { CheckoutReport, OrderState } from '../domain/order';
import type { CarriedLedger } from './commandLedger';

export const idSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/, 'an id of 1 to 128 letters, digits, or _ . : - (starting with a letter or digit)');

/** What Postgres cannot keep in text or jsonb: NUL, and a UTF-16 surrogate without its partner. */
// eslint-disable-next-line no-control-regex -- NUL is one of the characters it is there to find
export const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Text Postgres can store: no NUL, no unpaired surrogate. Checked here so signals are covered too. */
export const textSchema = (min: number, max: number) =>
  z
    .string()
    .trim()
    .min(min)
    .max(max)
    .refine((s) => !UNSTORABLE.test(s), 'must not contain NUL characters or unpaired surrogates');

export const addressSchema = z
  .object({
    name: textSchema(1, 200),
    line1: textSchema(1, 200),
    line2: textSchema(0, 200).optional(),
    city: textSchema(1, 100),
    postalCode: textSchema(1, 20),
    country: z.string().regex(/^[A-Z]{2}$/, 'a two-letter ISO country code such as DE or US'),
  })
  .strict();

/** Quantity ranges are a domain rule (422); here only the type: a whole number. */
const quantitySchema = z.number().int().safe();

const base = {
  commandId: idSchema,
  correlationId: idSchema.optional(),
  /** HTTP `If-Match`: checked by the actor itself, so the check and the change are atomic. */
  expectedVersion: z.number().int().min(0).safe().optional(),
};

export const orderCommandSchemas = {
  CreateOrder: z.object({ ...base, orderId: idSchema, customerId: idSchema, shippingAddress: addressSchema.optional() }).strict(),
  AddItem: z.object({ ...base, productId: idSchema, quantity: quantitySchema }).strict(),
  ChangeItemQuantity: z.object({ ...base, productId: idSchema, quantity: quantitySchema }).strict(),
  RemoveItem: z.object({ ...base, productId: idSchema }).strict(),
  ChangeShippingAddress: z.object({ ...base, address: addressSchema }).strict(),
  /** `expectedTotalCents`: the total the client approves; checkout at any other total is refused. */
  PlaceOrder: z.object({ ...base, expectedTotalCents: z.number().int().min(0).safe().optional() }).strict(),
  CancelOrder: z.object({ ...base, reason: textSchema(1, 500) }).strict(),
  MarkShipped: z.object(base).strict(),
} as const;

export type OrderCommandName = keyof typeof orderCommandSchemas;
export type OrderCommandInput<N extends OrderCommandName = OrderCommandName> = z.infer<(typeof orderCommandSchemas)[N]>;
export const orderCommandNames = Object.keys(orderCommandSchemas) as OrderCommandName[];

export interface CommandAccepted {
  status: 'accepted';
  commandId: string;
  /** The order stream's version after this command: the next `If-Match`. */
  version: number;
  orderStatus: OrderState['status'];
  events: string[];
}

export interface CommandRejected {
  status: 'rejected';
  commandId: string;
  code: string;
  message: string;
  kind: 'conflict' | 'rule' | 'not_found' | 'invalid' | 'precondition';
}

export type CommandOutcome = CommandAccepted | CommandRejected;

export interface OrderSnapshot {
  state: OrderState;
  version: number;
}

/** Carried across continue-as-new so nothing the actor knows is lost. */
export interface CarriedOrder {
  state: OrderState;
  version: number;
  commands?: CarriedLedger;
  /** The ledger as runs carried it before command ids had namespaces (see ledgerFromLegacy). */
  ledger?: Array<[string, CommandOutcome]>;
  lastActivityAt: number;
  /**
   * A saga's report the previous actor never recorded (an actor restarted from its stream by an
   * operator, src/operations): recorded first, before any command.
   */
  pendingCheckout?: { attempt: number; report: CheckoutReport };
}

export interface OrderWorkflowInput {
  orderId: string;
  /** Inactivity after which a PENDING order expires. */
  cartTtlMs: number;
  /** History length at which the actor continues-as-new even before Temporal suggests it. */
  historyLimit: number;
  /** How many accepted commands the actor remembers; older keys are looked up in the stream (default 1000). */
  ledgerCapacity?: number;
  carried?: CarriedOrder;
}

function commandDefinitions<D>(define: (name: OrderCommandName) => D): { [N in OrderCommandName]: D } {
  return Object.fromEntries(orderCommandNames.map((name) => [name, define(name)])) as { [N in OrderCommandName]: D };
}

/** Every command as an update: the synchronous path, answered after its events are stored. */
export const commandUpdates = commandDefinitions((name) => defineUpdate<CommandAccepted, [OrderCommandInput]>(name));
/** Every command as a signal: fire and forget, outcome later through `getCommandOutcome`. */
export const commandSignals = commandDefinitions((name) => defineSignal<[OrderCommandInput]>(name));

export const getOrderQuery = defineQuery<OrderSnapshot>('getOrder');
/**
 * Answers once the running checkout has settled (the order left PLACED). The API no longer sends
 * it (checkout?wait follows the saga child instead, see `checkoutSettled` in src/api/orders.ts); the handler
 * stays for running orders whose histories hold it.
 */
export const awaitCheckoutUpdate = defineUpdate<OrderSnapshot>('awaitCheckout');
export const getCommandOutcomeQuery = defineQuery<CommandOutcome | { status: 'pending'; commandId: string } | null, [string]>('getCommandOutcome');

export const orderWorkflowId = (orderId: string): string => `order-${orderId}`;
