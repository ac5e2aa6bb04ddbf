import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { orderDecider, type OrderState, type OrderStatus, orderStreamId } from '../domain/order';
import { type Queryable } from '../eventstore';
import { addressSchema, idSchema, textSchema, type CommandAccepted, type OrderCommandName } from '../workflows/orderContract';
import { type CommandPayload, type OrderGateway, newCommandId } from './orderGateway';
import { adminOnly, assertCustomerAccess, principalOf, signedIn, type OrderOwners } from './access';
import { ApiError } from './problem';
import { commandIdOf, expectedVersionOf, idFromIdempotencyKey, pathId, prefersAsync } from './requestContext';
import { consistencyQuery, readAtLeast, type ReadWaits } from './readConsistency';
import { ORDER_SUMMARY } from '../projections/readModels';
import { parseInput } from './validation';
import { readStream } from '../application/eventStore';
import { foldRecorded } from '../application/foldStream';

const quantity = z.number().int().safe();
const createOrderBody = z
  .object({ orderId: idSchema.optional(), customerId: idSchema.optional(), shippingAddress: addressSchema.optional() })
  .strict();
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

export function orderView(orderId: string, state: OrderState, version: number) {
  const { orderId: _ignored, ...rest } = state;
  return { orderId, version, ...rest };
}

function sendAccepted(res: Response, orderId: string, result: CommandAccepted, status = 200): void {
  res
    .status(status)
    .setHeader('ETag', `"${result.version}"`)
    .json({ orderId, commandId: result.commandId, version: result.version, status: result.orderStatus, events: result.events });
}

async function foldStream(db: Queryable, orderId: string, toVersion?: number) {
  const events = await readStream(db, orderStreamId(orderId), { toVersion });
  return { state: foldRecorded(orderDecider, events), version: events.length > 0 ? events[events.length - 1]!.version : 0 };
}

const ORDER_STATUSES = ['PENDING', 'PLACED', 'CONFIRMED', 'SHIPPED', 'CANCELLED', 'EXPIRED'] as const satisfies readonly OrderStatus[];
const customerOrdersQuery = z
  .object({
    status: z.enum(ORDER_STATUSES).optional(),
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z.string().max(500).optional(),
  })
  .strict();

/** Once the saga has finished its outcome is one append away: look after 25 ms, then less often. */
const OUTCOME_POLL_MS = { first: 25, max: 500 };

/**
 * The checkout placed at `placedVersion` (its OrderPlaced event): its attempt, and whether its
 * outcome (the next CheckoutSucceeded or CheckoutFailed) is in the stream yet.
 */
async function checkoutProgress(db: Queryable, orderId: string, placedVersion: number): Promise<{ attempt?: number; settledAt?: number }> {
  const { rows } = await db.query<{ type: string; attempt: number | null; version: string }>(
    `SELECT type, (data->>'checkoutAttempt')::int AS attempt, version
       FROM events
      WHERE stream_id = $1 AND version >= $2 AND type IN ('OrderPlaced', 'CheckoutSucceeded', 'CheckoutFailed')
      ORDER BY version
      LIMIT 2`,
    [orderStreamId(orderId), placedVersion],
  );
  const placed = rows[0]?.type === 'OrderPlaced' ? rows[0] : undefined;
  const outcome = rows.find((r) => r.type !== 'OrderPlaced');
  return { attempt: placed?.attempt ?? undefined, settledAt: outcome ? Number(outcome.version) : undefined };
}

async function readOrderSummary(db: Queryable, orderId: string) {
  const { rows } = await db.query<{ state: OrderState; version: string }>('SELECT state, version FROM order_summary WHERE order_id = $1', [orderId]);
  const row = rows[0];
  return row ? { state: row.state, version: Number(row.version) } : undefined;
}

/** Keyset cursor over (created_at, order_id), newest first: stable while orders change. */
function encodeCursor(createdAt: Date, orderId: string): string {
  return Buffer.from(JSON.stringify([createdAt.toISOString(), orderId])).toString('base64url');
}

function decodeCursor(cursor: string): [string, string] {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    // Only what we hand out: an ISO instant as Date writes it (Date.parse accepts more than
    // Postgres does), of a year orders can have been created in (Postgres has no year 0, and
    // Date writes years past 9999 with six digits), and a valid order id.
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && idSchema.safeParse(value[1]).success) {
      const at = new Date(value[0]);
      if (!Number.isNaN(at.getTime()) && at.toISOString() === value[0] && /^(19[7-9]\d|[2-9]\d{3})-/.test(value[0])) return [value[0], value[1] as string];
    }
  } catch {
    // falls through to the 400
  }
  throw new ApiError(400, 'INVALID_CURSOR', 'The cursor is not one this API handed out.');
}

export function ordersRouter(gateway: OrderGateway, db: Queryable, owners: OrderOwners, reads: ReadWaits): Router {
  const router = Router();
  router.use(['/orders', '/customers'], signedIn);

  /** The path's order id, once the caller may see that order. */
  async function accessibleOrderId(req: Request, res: Response): Promise<string> {
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
    if (customerId !== undefined && customerId !== principal.sub) throw new ApiError(403, 'FORBIDDEN', 'A customer token can only create orders for its own customer id.');
    return principal.sub;
  }

  /** Runs one command: as an update (answer now) or, with `Prefer: respond-async`, as a signal. */
  async function command<N extends OrderCommandName>(req: Request, res: Response, name: N, payload: CommandPayload<N>) {
    const orderId = await accessibleOrderId(req, res);
    const commandId = commandIdOf(req);
    const withVersion = { ...payload, expectedVersion: expectedVersionOf(req) } as CommandPayload<N>;
    if (prefersAsync(req)) {
      await gateway.signal(orderId, name, withVersion, commandId);
      const statusUrl = `/orders/${orderId}/commands/${commandId}`;
      res.status(202).location(statusUrl).setHeader('Preference-Applied', 'respond-async');
      res.json({ orderId, commandId, status: 'pending', statusUrl });
      return;
    }
    sendAccepted(res, orderId, await gateway.send(orderId, name, withVersion, commandId));
  }

  router.post('/orders', async (req, res) => {
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
    res.location(`/orders/${orderId}`);
    sendAccepted(res, orderId, result, 201);
  });

  router.post('/orders/:orderId/items', (req, res) => command(req, res, 'AddItem', parseInput(addItemBody, req.body)));
  router.patch('/orders/:orderId/items/:productId', (req, res) =>
    command(req, res, 'ChangeItemQuantity', { productId: pathId(req, 'productId'), ...parseInput(changeQuantityBody, req.body) }),
  );
  router.delete('/orders/:orderId/items/:productId', (req, res) =>
    command(req, res, 'RemoveItem', { productId: pathId(req, 'productId'), ...parseInput(emptyBody, req.body) }),
  );
  router.put('/orders/:orderId/shipping-address', (req, res) =>
    command(req, res, 'ChangeShippingAddress', { address: parseInput(addressSchema, req.body) }),
  );
  // Places the order, which starts the checkout saga: 202 at once, or with ?wait=true its outcome.
  router.post('/orders/:orderId/checkout', async (req, res) => {
    const body = parseInput(checkoutBody, req.body);
    const query = parseInput(checkoutQuery, req.query, 'query');
    if (prefersAsync(req)) return command(req, res, 'PlaceOrder', body);
    const orderId = await accessibleOrderId(req, res);
    const payload = { ...body, expectedVersion: expectedVersionOf(req) };
    if (query.wait !== 'true') return sendAccepted(res, orderId, await gateway.send(orderId, 'PlaceOrder', payload, commandIdOf(req)), 202);
    const deadline = Date.now() + query.timeout * 1000;
    const placed = await gateway.send(orderId, 'PlaceOrder', payload, commandIdOf(req));
    const settledAt = await checkoutSettled(orderId, placed.version, deadline);
    if (settledAt === undefined) return sendAccepted(res, orderId, placed, 202);
    // The order as this checkout left it: a retry with the same key gets the same answer, whatever came after.
    const settled = await foldStream(db, orderId, settledAt);
    res.setHeader('ETag', `"${settled.version}"`).json(orderView(orderId, settled.state, settled.version));
  });

  /**
   * The version at which the checkout placed at `placedVersion` recorded its outcome, if it did by
   * `deadline`: waits for its saga to finish (a long poll), then for the outcome event in the
   * order's stream, which the order appends a moment later.
   */
  async function checkoutSettled(orderId: string, placedVersion: number, deadline: number): Promise<number | undefined> {
    let progress = await checkoutProgress(db, orderId, placedVersion);
    if (progress.settledAt === undefined && progress.attempt !== undefined) await gateway.sagaFinished(orderId, progress.attempt, deadline);
    for (let pause = OUTCOME_POLL_MS.first; progress.settledAt === undefined && Date.now() < deadline; pause = Math.min(pause * 2, OUTCOME_POLL_MS.max)) {
      await new Promise((resolve) => setTimeout(resolve, pause));
      progress = await checkoutProgress(db, orderId, placedVersion);
    }
    return progress.settledAt;
  }
  router.post('/orders/:orderId/cancel', (req, res) => command(req, res, 'CancelOrder', parseInput(cancelBody, req.body)));
  router.post('/orders/:orderId/ship', adminOnly, async (req, res) => {
    parseInput(emptyBody, req.body);
    await command(req, res, 'MarkShipped', {});
  });

  // The read model by default; ?minVersion=N waits for it (read-your-writes); ?consistency=strong
  // asks the actor (a finished one: its stream, folded).
  router.get('/orders/:orderId', async (req, res) => {
    const orderId = await accessibleOrderId(req, res);
    const query = parseInput(consistencyQuery, req.query, 'query');
    const { minVersion } = query;
    const snapshot =
      query.consistency === 'strong'
        ? ((await gateway.snapshot(orderId)) ?? (await foldStream(db, orderId)))
        : await readAtLeast(
            () => readOrderSummary(db, orderId),
            minVersion === undefined ? undefined : (row) => (row?.version ?? 0) >= minVersion,
            reads.forRequest(res, ORDER_SUMMARY, orderStreamId(orderId)),
            (row) => ({ minVersion, currentVersion: row?.version ?? 0 }),
          );
    if (!snapshot || snapshot.version === 0) throw new ApiError(404, 'ORDER_NOT_FOUND', 'There is no such order.');
    res.setHeader('ETag', `"${snapshot.version}"`).json(orderView(orderId, snapshot.state, snapshot.version));
  });

  // A customer's orders from the order_summary model, newest first, optionally by status.
  router.get('/customers/:customerId/orders', async (req, res) => {
    const customerId = pathId(req, 'customerId');
    assertCustomerAccess(res, customerId, () => new ApiError(404, 'CUSTOMER_NOT_FOUND', 'There is no such customer.'));
    const query = parseInput(customerOrdersQuery, req.query, 'query');
    const after = query.cursor === undefined ? null : decodeCursor(query.cursor);
    const { rows } = await db.query<{
      order_id: string;
      status: string;
      items: unknown;
      total_cents: string;
      version: string;
      created_at: Date;
      updated_at: Date;
      last_checkout_failure: unknown;
    }>(
      `SELECT order_id, status, items, total_cents, version, created_at, updated_at, last_checkout_failure
         FROM order_summary
        WHERE customer_id = $1
          AND ($2::text IS NULL OR status = $2)
          AND ($3::timestamptz IS NULL OR (created_at, order_id) < ($3::timestamptz, $4::text))
        ORDER BY created_at DESC, order_id DESC
        LIMIT $5`,
      [customerId, query.status ?? null, after?.[0] ?? null, after?.[1] ?? null, query.limit + 1],
    );
    const page = rows.slice(0, query.limit);
    const last = page[page.length - 1];
    res.json({
      customerId,
      orders: page.map((r) => ({
        orderId: r.order_id,
        status: r.status,
        items: r.items,
        totalCents: Number(r.total_cents),
        version: Number(r.version),
        createdAt: r.created_at.toISOString(),
        updatedAt: r.updated_at.toISOString(),
        lastCheckoutFailure: r.last_checkout_failure,
      })),
      nextCursor: rows.length > query.limit && last ? encodeCursor(last.created_at, last.order_id) : null,
    });
  });

  router.get('/orders/:orderId/events', async (req, res) => {
    const orderId = await accessibleOrderId(req, res);
    const events = await readStream(db, orderStreamId(orderId));
    if (events.length === 0) throw new ApiError(404, 'ORDER_NOT_FOUND', 'There is no such order.');
    res.json({ orderId, version: events[events.length - 1]!.version, events });
  });

  // Time travel: the order as it was at a version, from the same fold the actor runs.
  router.get('/orders/:orderId/state', async (req, res) => {
    const orderId = await accessibleOrderId(req, res);
    const { version } = parseInput(versionQuery, req.query, 'query');
    const past = await foldStream(db, orderId, version);
    if (past.version === 0) throw new ApiError(404, 'ORDER_NOT_FOUND', 'There is no such order.');
    if (past.version < version) {
      throw new ApiError(404, 'VERSION_NOT_FOUND', `The order has ${past.version} version(s); there is no version ${version}.`);
    }
    res.json(orderView(orderId, past.state, past.version));
  });

  router.get('/orders/:orderId/commands/:commandId', async (req, res) => {
    const orderId = await accessibleOrderId(req, res);
    const commandId = pathId(req, 'commandId');
    const outcome = await gateway.outcome(orderId, commandId);
    if (!outcome) throw new ApiError(404, 'COMMAND_NOT_FOUND', 'This order has no record of that command.');
    res.json({ orderId, ...outcome });
  });

  return router;
}
