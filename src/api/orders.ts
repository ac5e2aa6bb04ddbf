import type { Request, Response } from 'express';
import { z } from 'zod';
import { readOrder } from '../application/orderRecord';
import { ORDER_STATUSES, type OrderState, orderStreamId } from '../domain/order';
import { type Queryable } from '../eventstore';
import { listCustomerOrders, ORDER_SUMMARY, readOrderSummary } from '../projections/orderSummary';
import { addressSchema, idSchema, textSchema, type CommandAccepted, type OrderCommandName } from '../workflows/orderContract';
import { adminOnly, assertCustomerAccess, orderNotFound, principalOf, signedIn, type OrderOwners } from './access';
import { orderAnswer, orderListItemAnswer, recordedEventAnswer } from './answers';
import { checkoutSettledAt } from './checkoutOutcome';
import { decodeCursor, encodeCursor } from './cursor';
import { expectedVersionOf, sendVersioned } from './etag';
import { type CommandPayload, type OrderGateway, newCommandId } from './orderGateway';
import { ApiError } from './problem';
import { consistencyQuery, READ_WAIT_PROBLEMS, readAtLeast, type ReadWaits } from './readConsistency';
import { commandIdOf, idFromIdempotencyKey, pathId, prefersAsync } from './requestContext';
import { problemsOf, type Handler, type RouteContract, type RouteTable } from './routes';
import { parseInput } from './validation';
import { readStream } from '../application/eventStore';

const quantity = z.number().int().safe();
const createOrderBody = z.object({ orderId: idSchema.optional(), customerId: idSchema.optional(), shippingAddress: addressSchema.optional() }).strict();
const addItemBody = z.object({ productId: idSchema, quantity }).strict();
const changeQuantityBody = z.object({ quantity }).strict();
const cancelBody = z.object({ reason: textSchema(1, 500) }).strict();
const emptyBody = z.object({}).strict();
/** `expectedTotalCents`: the total the customer approves; checkout is refused (409 PRICES_CHANGED) at any other. */
const checkoutBody = z.object({ expectedTotalCents: z.number().int().min(0).safe().optional() }).strict();
const versionQuery = z.object({ version: z.coerce.number().int().min(1).safe() });
const checkoutQuery = z
  .object({
    wait: z.enum(['true', 'false']).optional(),
    /** Seconds to wait for the saga's outcome with `wait=true`. */
    timeout: z.coerce.number().int().min(1).max(30).default(10),
  })
  .strict();
const customerOrdersQuery = z
  .object({
    status: z.enum(ORDER_STATUSES).optional(),
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z.string().max(500).optional(),
  })
  .strict();

/** The answer to an order command the actor applied. */
const commandAcceptedAnswer = z.object({
  orderId: z.string(),
  commandId: z.string(),
  version: z.number().int().min(1).describe('The order version after the command: the next If-Match.'),
  status: z.enum(ORDER_STATUSES),
  events: z.array(z.string()).describe('The types of the events the command recorded.'),
});
/** The answer to an order command queued with `Prefer: respond-async`. */
const commandQueuedAnswer = z.object({ orderId: z.string(), commandId: z.string(), status: z.literal('pending'), statusUrl: z.string() });
/** What became of a command (`CommandOutcome`, or pending while the actor has not decided it). */
const commandOutcomeAnswer = z.discriminatedUnion('status', [
  z.object({ orderId: z.string(), commandId: z.string(), status: z.literal('pending') }),
  z.object({
    orderId: z.string(),
    commandId: z.string(),
    status: z.literal('accepted'),
    version: z.number().int().min(1),
    orderStatus: z.enum(ORDER_STATUSES),
    events: z.array(z.string()),
  }),
  z.object({
    orderId: z.string(),
    commandId: z.string(),
    status: z.literal('rejected'),
    code: z.string().describe('The stable code the command was refused with.'),
    message: z.string(),
    kind: z.enum(['conflict', 'rule', 'not_found', 'invalid', 'precondition']),
  }),
]);

export interface OrderRouteDeps {
  gateway: OrderGateway;
  db: Queryable;
  owners: OrderOwners;
  reads: ReadWaits;
}

function orderView(orderId: string, state: OrderState, version: number) {
  const { orderId: _ignored, ...rest } = state;
  return { orderId, version, ...rest };
}

function sendAccepted(res: Response, orderId: string, result: CommandAccepted, status = 200): void {
  const { commandId, version, orderStatus, events } = result;
  sendVersioned(res, version, { orderId, commandId, version, status: orderStatus, events }, status);
}

/** The path's order id, once the caller may see that order. */
async function accessibleOrderId({ owners }: OrderRouteDeps, req: Request, res: Response): Promise<string> {
  const orderId = pathId(req, 'orderId');
  await owners.assertAccess(res, orderId);
  return orderId;
}

/** A customer orders for itself; an admin names the customer. */
function customerOf(res: Response, customerId: string | undefined): string {
  const principal = principalOf(res);
  if (principal.role === 'admin') {
    if (customerId === undefined) {
      const message = 'an admin must name the customer';
      throw new ApiError(400, 'VALIDATION_FAILED', `Invalid request body: customerId: ${message}`, { errors: [{ path: 'customerId', message }] });
    }
    return customerId;
  }
  if (customerId !== undefined && customerId !== principal.sub)
    throw new ApiError(403, 'FORBIDDEN', 'A customer token can only create orders for its own customer id.');
  return principal.sub;
}

/** Runs one command: as an update (answer now) or, with `Prefer: respond-async`, as a signal. */
async function command<N extends OrderCommandName>(deps: OrderRouteDeps, req: Request, res: Response, name: N, payload: CommandPayload<N>) {
  const orderId = await accessibleOrderId(deps, req, res);
  const commandId = commandIdOf(req);
  const withVersion = { ...payload, expectedVersion: expectedVersionOf(req) } as CommandPayload<N>;
  if (prefersAsync(req)) {
    await deps.gateway.signal(orderId, name, withVersion, commandId);
    const statusUrl = `/orders/${orderId}/commands/${commandId}`;
    res.status(202).location(statusUrl).setHeader('Preference-Applied', 'respond-async');
    res.json({ orderId, commandId, status: 'pending', statusUrl });
    return;
  }
  sendAccepted(res, orderId, await deps.gateway.send(orderId, name, withVersion, commandId));
}

const createOrder: Handler<OrderRouteDeps> = async (req, res, { gateway, owners }) => {
  const body = parseInput(createOrderBody, req.body);
  // A customer's order ids come from its Idempotency-Key or the server: a customer naming ids
  // could probe which exist (201 or 409) and take an id another customer's key would derive.
  if (body.orderId !== undefined && principalOf(res).role !== 'admin') {
    throw new ApiError(403, 'FORBIDDEN', "Only an admin names a new order's id; leave orderId out and the order gets one.");
  }
  const customerId = customerOf(res, body.customerId);
  const commandId = commandIdOf(req);
  // Without an orderId, a retried create (same key, same customer) must name the same order.
  const orderId = body.orderId ?? (req.get('Idempotency-Key') ? idFromIdempotencyKey(`order:${customerId}`, commandId) : newCommandId());
  // Only an id an admin chose can be someone else's: derived ids are scoped by customer.
  if (body.orderId !== undefined) {
    const owner = await owners.ownerOf(orderId);
    if (owner !== undefined && owner !== customerId) throw new ApiError(409, 'ORDER_ALREADY_EXISTS', 'An order with this id already exists.');
  }
  const result = await gateway.create(orderId, { orderId, customerId, shippingAddress: body.shippingAddress }, commandId);
  // Accepted, the order is this customer's: a new order was created for it, or this key's earlier
  // create was (the answer is given again only for the same request, customerId included). An
  // order someone else owned was refused above, or by the actor as ORDER_ALREADY_EXISTS.
  owners.remember(orderId, customerId);
  res.location(`/orders/${orderId}`);
  sendAccepted(res, orderId, result, 201);
};

// Places the order, which starts the checkout saga: 202 at once, or with ?wait=true its outcome.
const checkout: Handler<OrderRouteDeps> = async (req, res, deps) => {
  const body = parseInput(checkoutBody, req.body);
  const query = parseInput(checkoutQuery, req.query, 'query');
  if (prefersAsync(req)) return command(deps, req, res, 'PlaceOrder', body);
  const orderId = await accessibleOrderId(deps, req, res);
  const payload = { ...body, expectedVersion: expectedVersionOf(req) };
  if (query.wait !== 'true') return sendAccepted(res, orderId, await deps.gateway.send(orderId, 'PlaceOrder', payload, commandIdOf(req)), 202);
  const deadline = Date.now() + query.timeout * 1000;
  const placed = await deps.gateway.send(orderId, 'PlaceOrder', payload, commandIdOf(req));
  const settledAt = await checkoutSettledAt(deps.db, deps.reads.changes, orderId, placed.version, deadline);
  if (settledAt === undefined) return sendAccepted(res, orderId, placed, 202);
  // The order as this checkout left it: a retry with the same key gets the same answer, whatever came after.
  const settled = await readOrder(deps.db, orderId, settledAt);
  sendVersioned(res, settled.version, orderView(orderId, settled.state, settled.version));
};

// The read model by default; ?minVersion=N waits for it (read-your-writes); ?consistency=strong
// asks the actor (a finished one: its stream, folded).
const getOrder: Handler<OrderRouteDeps> = async (req, res, deps) => {
  const orderId = await accessibleOrderId(deps, req, res);
  const query = parseInput(consistencyQuery, req.query, 'query');
  const snapshot =
    query.consistency === 'strong'
      ? ((await deps.gateway.snapshot(orderId)) ?? (await readOrder(deps.db, orderId)))
      : await readAtLeast(
          () => readOrderSummary(deps.db, orderId),
          { version: query.minVersion },
          deps.reads.forRequest(res, ORDER_SUMMARY, orderStreamId(orderId)),
        );
  if (!snapshot || snapshot.version === 0) throw orderNotFound();
  sendVersioned(res, snapshot.version, orderView(orderId, snapshot.state, snapshot.version));
};

// A customer's orders from the order_summary model, newest first, optionally by status.
const customerOrders: Handler<OrderRouteDeps> = async (req, res, { db }) => {
  const customerId = pathId(req, 'customerId');
  assertCustomerAccess(res, customerId, () => new ApiError(404, 'CUSTOMER_NOT_FOUND', 'There is no such customer.'));
  const { status, limit, cursor } = parseInput(customerOrdersQuery, req.query, 'query');
  const page = await listCustomerOrders(db, customerId, { status, limit, after: cursor === undefined ? undefined : decodeCursor(cursor) });
  res.json({ customerId, orders: page.orders, nextCursor: page.next ? encodeCursor(page.next) : null });
};

const orderEvents: Handler<OrderRouteDeps> = async (req, res, deps) => {
  const orderId = await accessibleOrderId(deps, req, res);
  const events = await readStream(deps.db, orderStreamId(orderId));
  if (events.length === 0) throw orderNotFound();
  res.json({ orderId, version: events[events.length - 1]!.version, events });
};

// Time travel: the order as it was at a version, from the same fold the actor runs.
const orderAtVersion: Handler<OrderRouteDeps> = async (req, res, deps) => {
  const orderId = await accessibleOrderId(deps, req, res);
  const { version } = parseInput(versionQuery, req.query, 'query');
  const past = await readOrder(deps.db, orderId, version);
  if (past.version === 0) throw orderNotFound();
  if (past.version < version) {
    throw new ApiError(404, 'VERSION_NOT_FOUND', `The order has ${past.version} version(s); there is no version ${version}.`);
  }
  res.json(orderView(orderId, past.state, past.version));
};

const commandStatus: Handler<OrderRouteDeps> = async (req, res, deps) => {
  const orderId = await accessibleOrderId(deps, req, res);
  const commandId = pathId(req, 'commandId');
  const outcome = await deps.gateway.outcome(orderId, commandId);
  if (!outcome) throw new ApiError(404, 'COMMAND_NOT_FOUND', 'This order has no record of that command.');
  res.json({ orderId, ...outcome });
};

/** What every order command may answer besides its acceptance: the actor's refusals and Temporal's conditions. */
const ORDER_COMMAND_PROBLEMS = {
  400: ['INVALID_COMMAND'],
  404: ['ORDER_NOT_FOUND'],
  409: ['ORDER_CLOSED', 'ORDER_NOT_PENDING', 'COMMAND_FAILED'],
  412: ['VERSION_MISMATCH'],
  422: ['IDEMPOTENCY_KEY_REUSED'],
  429: ['TOO_MANY_REQUESTS'],
  503: ['COMMAND_TIMEOUT', 'ORDER_UNAVAILABLE', 'ORDER_RECOVERING', 'TEMPORAL_UNAVAILABLE'],
} as const;

/** The contract of a command sent to an order's actor: an update answered now, or a signal with `Prefer: respond-async`. */
function orderCommand(summary: string, body: z.ZodType, problems: RouteContract['problems'] = {}): RouteContract {
  return {
    summary,
    body,
    headers: ['If-Match', 'Idempotency-Key', 'Prefer'],
    answers: {
      200: { description: 'The command was applied; the ETag is the order version it made.', headers: ['ETag'], body: commandAcceptedAnswer },
      202: {
        description: 'With Prefer: respond-async: the command was queued; Location is its status.',
        headers: ['Location', 'Preference-Applied'],
        body: commandQueuedAnswer,
      },
    },
    problems: problemsOf(ORDER_COMMAND_PROBLEMS, problems),
  };
}

const ORDER_READ = { 404: ['ORDER_NOT_FOUND'] } as const;

/** Orders: commands go to the order's actor, reads to the order_summary model or the stream. */
export const orderRoutes: RouteTable<OrderRouteDeps> = {
  guard: { paths: ['/orders', '/customers'], by: signedIn },
  routes: [
    {
      method: 'post',
      path: '/orders',
      handle: createOrder,
      contract: {
        summary: 'Create an order (a customer for itself; an admin names the customer). With an Idempotency-Key, a retry names the same order.',
        body: createOrderBody,
        headers: ['Idempotency-Key'],
        answers: { 201: { description: 'The order was created; Location is the order.', headers: ['ETag', 'Location'], body: commandAcceptedAnswer } },
        problems: problemsOf(ORDER_COMMAND_PROBLEMS, { 403: ['FORBIDDEN'], 409: ['ORDER_ALREADY_EXISTS'], 422: ['INVALID_CUSTOMER', 'INVALID_ADDRESS'] }),
      },
    },
    {
      method: 'post',
      path: '/orders/:orderId/items',
      handle: (req, res, deps) => command(deps, req, res, 'AddItem', parseInput(addItemBody, req.body)),
      contract: orderCommand('Add a product to the cart.', addItemBody, { 422: ['INVALID_QUANTITY', 'PRODUCT_NOT_FOUND', 'ORDER_TOTAL_TOO_LARGE'] }),
    },
    {
      method: 'patch',
      path: '/orders/:orderId/items/:productId',
      handle: (req, res, deps) =>
        command(deps, req, res, 'ChangeItemQuantity', { productId: pathId(req, 'productId'), ...parseInput(changeQuantityBody, req.body) }),
      contract: orderCommand("Change a cart line's quantity.", changeQuantityBody, {
        422: ['INVALID_QUANTITY', 'ITEM_NOT_IN_CART', 'PRODUCT_NOT_FOUND', 'ORDER_TOTAL_TOO_LARGE'],
      }),
    },
    {
      method: 'delete',
      path: '/orders/:orderId/items/:productId',
      handle: (req, res, deps) => command(deps, req, res, 'RemoveItem', { productId: pathId(req, 'productId'), ...parseInput(emptyBody, req.body) }),
      contract: orderCommand('Remove a line from the cart.', emptyBody, { 422: ['ITEM_NOT_IN_CART'] }),
    },
    {
      method: 'put',
      path: '/orders/:orderId/shipping-address',
      handle: (req, res, deps) => command(deps, req, res, 'ChangeShippingAddress', { address: parseInput(addressSchema, req.body) }),
      contract: orderCommand('Set the shipping address.', addressSchema, { 422: ['INVALID_ADDRESS'] }),
    },
    {
      method: 'post',
      path: '/orders/:orderId/checkout',
      handle: checkout,
      contract: {
        ...orderCommand('Place the order, which starts the checkout saga.', checkoutBody, {
          409: ['PRICES_CHANGED'],
          422: ['CART_EMPTY', 'SHIPPING_ADDRESS_MISSING', 'PRODUCT_NOT_FOUND', 'ORDER_TOTAL_TOO_LARGE'],
        }),
        query: checkoutQuery,
        answers: {
          200: { description: 'With ?wait=true: the order as the checkout left it (confirmed or cancelled).', headers: ['ETag'], body: orderAnswer },
          202: {
            description: 'The order was placed and its checkout runs (or, with Prefer: respond-async, the command was queued; Location is its status).',
            headers: ['ETag', 'Location', 'Preference-Applied'],
            body: z.union([commandAcceptedAnswer, commandQueuedAnswer]),
          },
        },
      },
    },
    {
      method: 'post',
      path: '/orders/:orderId/cancel',
      handle: (req, res, deps) => command(deps, req, res, 'CancelOrder', parseInput(cancelBody, req.body)),
      contract: orderCommand('Cancel the order; a confirmed one is refunded and restocked first.', cancelBody, {
        409: ['COMPENSATION_REQUIRED'],
        422: ['CANCELLATION_REASON_REQUIRED'],
      }),
    },
    {
      method: 'post',
      path: '/orders/:orderId/ship',
      guard: adminOnly,
      handle: (req, res, deps) => command(deps, req, res, 'MarkShipped', parseInput(emptyBody, req.body)),
      contract: orderCommand('Mark a confirmed order shipped.', emptyBody, { 409: ['ORDER_NOT_CONFIRMED'] }),
    },
    {
      method: 'get',
      path: '/orders/:orderId',
      handle: getOrder,
      contract: {
        summary: 'The order, from the read model (?minVersion waits for it) or, with ?consistency=strong, from its actor.',
        query: consistencyQuery,
        answers: { 200: { description: 'The order; the ETag is its version.', headers: ['ETag'], body: orderAnswer } },
        problems: problemsOf(ORDER_READ, READ_WAIT_PROBLEMS),
      },
    },
    {
      method: 'get',
      path: '/customers/:customerId/orders',
      handle: customerOrders,
      contract: {
        summary: "A customer's orders, newest first, a page at a time.",
        query: customerOrdersQuery,
        answers: {
          200: {
            description: 'One page; nextCursor is null on the last.',
            body: z.object({ customerId: z.string(), orders: z.array(orderListItemAnswer), nextCursor: z.string().nullable() }),
          },
        },
        problems: { 400: ['INVALID_CURSOR'], 404: ['CUSTOMER_NOT_FOUND'] },
      },
    },
    {
      method: 'get',
      path: '/orders/:orderId/events',
      handle: orderEvents,
      contract: {
        summary: "The order's event stream.",
        answers: {
          200: {
            description: 'Every event, oldest first.',
            body: z.object({ orderId: z.string(), version: z.number().int(), events: z.array(recordedEventAnswer) }),
          },
        },
        problems: ORDER_READ,
      },
    },
    {
      method: 'get',
      path: '/orders/:orderId/state',
      handle: orderAtVersion,
      contract: {
        summary: 'The order as it was at a version.',
        query: versionQuery,
        answers: { 200: { description: 'The order at that version.', body: orderAnswer } },
        problems: { 404: ['ORDER_NOT_FOUND', 'VERSION_NOT_FOUND'] },
      },
    },
    {
      method: 'get',
      path: '/orders/:orderId/commands/:commandId',
      handle: commandStatus,
      contract: {
        summary: 'What became of a command (one sent with Prefer: respond-async, or any by its Idempotency-Key).',
        answers: { 200: { description: "The command's outcome: pending, accepted or rejected.", body: commandOutcomeAnswer } },
        problems: { 404: ['ORDER_NOT_FOUND', 'COMMAND_NOT_FOUND'] },
      },
    },
  ],
};
