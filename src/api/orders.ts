import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { orderDecider, type OrderState } from '../domain/order';
import { foldRecorded, readStream, type Queryable } from '../eventstore';
import { addressSchema, idSchema, orderStreamId, type CommandAccepted, type OrderCommandName } from '../workflows/orderContract';
import { type CommandPayload, type OrderGateway, newCommandId } from './orderGateway';
import { ApiError } from './problem';
import { commandIdOf, expectedVersionOf, pathId, prefersAsync } from './requestContext';
import { parseInput } from './validation';

const quantity = z.number().int().safe();
const createOrderBody = z
  .object({ orderId: idSchema.optional(), customerId: idSchema, shippingAddress: addressSchema.optional() })
  .strict();
const addItemBody = z.object({ productId: idSchema, quantity }).strict();
const changeQuantityBody = z.object({ quantity }).strict();
const cancelBody = z.object({ reason: z.string().trim().min(1).max(500) }).strict();
const emptyBody = z.object({}).strict();
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

export function ordersRouter(gateway: OrderGateway, db: Queryable): Router {
  const router = Router();

  /** Runs one command: as an update (answer now) or, with `Prefer: respond-async`, as a signal. */
  async function command<N extends OrderCommandName>(req: Request, res: Response, name: N, payload: CommandPayload<N>) {
    const orderId = pathId(req, 'orderId');
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
    const orderId = body.orderId ?? newCommandId();
    const result = await gateway.create(orderId, { orderId, customerId: body.customerId, shippingAddress: body.shippingAddress }, commandIdOf(req));
    res.location(`/orders/${orderId}`);
    sendAccepted(res, orderId, result, 201);
  });

  router.post('/orders/:orderId/items', (req, res) => command(req, res, 'AddItem', parseInput(addItemBody, req.body)));
  router.patch('/orders/:orderId/items/:productId', (req, res) =>
    command(req, res, 'ChangeItemQuantity', { productId: pathId(req, 'productId'), ...parseInput(changeQuantityBody, req.body) }),
  );
  router.delete('/orders/:orderId/items/:productId', (req, res) => command(req, res, 'RemoveItem', { productId: pathId(req, 'productId') }));
  router.put('/orders/:orderId/shipping-address', (req, res) =>
    command(req, res, 'ChangeShippingAddress', { address: parseInput(addressSchema, req.body) }),
  );
  // Places the order, which starts the checkout saga: 202 at once, or with ?wait=true its outcome.
  router.post('/orders/:orderId/checkout', async (req, res) => {
    parseInput(emptyBody, req.body);
    const query = parseInput(checkoutQuery, req.query, 'query');
    if (prefersAsync(req)) return command(req, res, 'PlaceOrder', {});
    const orderId = pathId(req, 'orderId');
    const placed = await gateway.send(orderId, 'PlaceOrder', { expectedVersion: expectedVersionOf(req) }, commandIdOf(req));
    const settled = query.wait === 'true' ? await awaitCheckout(orderId, query.timeout * 1000) : undefined;
    if (!settled) return sendAccepted(res, orderId, placed, 202);
    res.setHeader('ETag', `"${settled.version}"`).json(orderView(orderId, settled.state, settled.version));
  });

  /** Polls the actor until the saga has settled (the order left PLACED), or gives up. */
  async function awaitCheckout(orderId: string, timeoutMs: number) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const snapshot = (await gateway.snapshot(orderId)) ?? (await foldStream(db, orderId));
      if (snapshot.state.status !== 'PLACED') return snapshot;
      if (Date.now() >= deadline) return undefined;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  router.post('/orders/:orderId/cancel', (req, res) => command(req, res, 'CancelOrder', parseInput(cancelBody, req.body)));
  router.post('/orders/:orderId/ship', async (req, res) => {
    parseInput(emptyBody, req.body);
    await command(req, res, 'MarkShipped', {});
  });

  router.get('/orders/:orderId', async (req, res) => {
    const orderId = pathId(req, 'orderId');
    // A running actor answers for itself; a finished one is its stream, folded.
    const snapshot = (await gateway.snapshot(orderId)) ?? (await foldStream(db, orderId));
    if (snapshot.version === 0) throw new ApiError(404, 'ORDER_NOT_FOUND', 'There is no such order.');
    res.setHeader('ETag', `"${snapshot.version}"`).json(orderView(orderId, snapshot.state, snapshot.version));
  });

  router.get('/orders/:orderId/events', async (req, res) => {
    const orderId = pathId(req, 'orderId');
    const events = await readStream(db, orderStreamId(orderId));
    if (events.length === 0) throw new ApiError(404, 'ORDER_NOT_FOUND', 'There is no such order.');
    res.json({ orderId, version: events[events.length - 1]!.version, events });
  });

  // Time travel: the order as it was at a version, from the same fold the actor runs.
  router.get('/orders/:orderId/state', async (req, res) => {
    const orderId = pathId(req, 'orderId');
    const { version } = parseInput(versionQuery, req.query, 'query');
    const past = await foldStream(db, orderId, version);
    if (past.version === 0) throw new ApiError(404, 'ORDER_NOT_FOUND', 'There is no such order.');
    if (past.version < version) {
      throw new ApiError(404, 'VERSION_NOT_FOUND', `The order has ${past.version} version(s); there is no version ${version}.`);
    }
    res.json(orderView(orderId, past.state, past.version));
  });

  router.get('/orders/:orderId/commands/:commandId', async (req, res) => {
    const orderId = pathId(req, 'orderId');
    const commandId = pathId(req, 'commandId');
    const outcome = await gateway.outcome(orderId, commandId);
    if (!outcome) throw new ApiError(404, 'COMMAND_NOT_FOUND', 'This order has no record of that command.');
    res.json({ orderId, ...outcome });
  });

  return router;
}
