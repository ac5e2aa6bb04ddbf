import fc from 'fast-check';
import type { Principal } from '../../src/auth/tokens';
import { ADMIN, customer } from '../support/harness';
import { describeKey, keySpec, presentKeySpec, resolveKey, type KeySpec } from './keys';
import { ADDRESSES, type Call, type ModelState } from './model';
import type { ModelBox, RunSetup, World } from './world';

/*
 * The commands of the model run. A command is generated before anything exists, so it names the
 * run's orders, customers and products by index (`pick`); it is resolved into a concrete request
 * against the model when it runs.
 */

/** Who sends a request: the resource's customer, an admin, or another customer of the run. */
type Caller = 'owner' | 'admin' | 'stranger';

type OpSpec =
  /** fresh: a new orderId; keyed: no orderId (the service derives it from the key, or makes one up); existing: an order's id again. */
  | { kind: 'create'; target: 'fresh' | 'keyed' | 'existing'; customer: number; address: number | null }
  | { kind: 'addItem'; product: number; quantity: number }
  | { kind: 'changeQuantity'; product: number; quantity: number }
  | { kind: 'removeItem'; product: number }
  | { kind: 'setAddress'; address: number }
  | { kind: 'checkout' }
  | { kind: 'cancel'; reason: string }
  | { kind: 'ship' }
  | { kind: 'deposit'; cents: number }
  | { kind: 'withdraw'; cents: number }
  | { kind: 'restock'; product: number; units: number };

interface Spec {
  op: OpSpec;
  /** The order (order commands, creates of an existing id) or the account (deposits, withdrawals). */
  pick: number;
  caller: Caller;
  key: KeySpec;
}

const weighted = <T>(...options: Array<[number, fc.Arbitrary<T>]>) => fc.oneof(...options.map(([weight, arbitrary]) => ({ weight, arbitrary })));

const customerCaller = weighted<Caller>([6, fc.constant('owner')], [2, fc.constant('admin')], [1, fc.constant('stranger')]);
/** Only an admin names an order's id, so creates come from admins more often than other commands. */
const creatorCaller = weighted<Caller>([3, fc.constant('owner')], [4, fc.constant('admin')], [1, fc.constant('stranger')]);
const adminCaller = weighted<Caller>([5, fc.constant('admin')], [1, fc.constant('owner')]);
/**
 * Mostly a few units; sometimes hundreds, around 500 most (500 of the dearest product total exactly
 * the 1e9-cent cap, 501 pass it); sometimes outside 1..1000.
 */
const lineQuantity = (hundredsWeight: number) =>
  weighted(
    [12, fc.integer({ min: 1, max: 4 })],
    [hundredsWeight, fc.oneof(fc.constantFrom(499, 500, 501, 1000), fc.integer({ min: 400, max: 1000 }))],
    [1, fc.constantFrom(0, -1, 1001, 5000)],
  );
const restockUnits = weighted([6, fc.integer({ min: 1, max: 5 })], [1, fc.integer({ min: 500, max: 5000 })], [1, fc.constantFrom(0, -2, 1_000_000_001)]);
const cents = weighted(
  [6, fc.integer({ min: 1, max: 30_000 })],
  [1, fc.integer({ min: 1_000_000, max: 1_000_000_000 })],
  [1, fc.constantFrom(0, -5, 1_000_000_001)],
);
const address = fc.nat({ max: ADDRESSES.length - 1 });

const opSpec = (op: fc.Arbitrary<OpSpec>, caller = customerCaller, key = keySpec): fc.Arbitrary<Spec> => fc.record({ op, pick: fc.nat(), caller, key });

const create = fc.record({
  kind: fc.constant('create' as const),
  target: weighted<'fresh' | 'keyed' | 'existing'>([2, fc.constant('fresh')], [4, fc.constant('keyed')], [1, fc.constant('existing')]),
  customer: fc.nat(),
  address: fc.option(address, { freq: 5 }),
});
const orderOps = weighted<OpSpec>(
  [6, fc.record({ kind: fc.constant('addItem' as const), product: fc.nat(), quantity: lineQuantity(1) })],
  // Hundreds more often: a new quantity replaces the line's, so the 1000 limit and the total cap are reached in one step.
  [2, fc.record({ kind: fc.constant('changeQuantity' as const), product: fc.nat(), quantity: lineQuantity(4) })],
  [1, fc.record({ kind: fc.constant('removeItem' as const), product: fc.nat() })],
  [2, fc.record({ kind: fc.constant('setAddress' as const), address })],
  [4, fc.constant({ kind: 'checkout' as const })],
  [1, fc.record({ kind: fc.constant('cancel' as const), reason: fc.constantFrom('changed my mind', 'found it cheaper') })],
);
const walletOps = weighted<OpSpec>(
  [3, fc.record({ kind: fc.constant('deposit' as const), cents })],
  [2, fc.record({ kind: fc.constant('withdraw' as const), cents })],
);

/** Any one request. */
const anySpec = weighted<Spec>(
  [3, opSpec(create, creatorCaller)],
  [12, opSpec(orderOps)],
  [2, opSpec(fc.constant({ kind: 'ship' as const }), adminCaller)],
  [3, opSpec(walletOps)],
  [1, opSpec(fc.record({ kind: fc.constant('restock' as const), product: fc.nat(), units: restockUnits }), adminCaller)],
);

const needsOrder = (op: OpSpec) => (op.kind === 'create' ? op.target === 'existing' : op.kind !== 'deposit' && op.kind !== 'withdraw' && op.kind !== 'restock');
const canResolve = (state: Readonly<ModelState>, spec: Spec) => !needsOrder(spec.op) || state.orderIds.length > 0;

/** The concrete request `spec` names in the model's current state. */
function resolve(box: ModelBox, setup: RunSetup, spec: Spec): Call {
  const { state } = box;
  const key = resolveKey(spec.key, state.orderIds, `${setup.runId}-o1`);
  const at = <T>(list: readonly T[], i: number): T => list[i % list.length]!;
  const productAt = (i: number) => at([...setup.products.map((p) => p.productId), setup.unknownProductId], i);
  // Half the time the newest order, so carts fill up and get checked out instead of staying thin.
  const orderAt = (i: number) => (i % 2 === 0 ? state.orderIds[state.orderIds.length - 1]! : at(state.orderIds, i >> 1));
  const sender = (owner: string): Principal =>
    spec.caller === 'admin' ? ADMIN : customer(spec.caller === 'owner' ? owner : at(setup.customers, setup.customers.indexOf(owner) + 1));
  const { op } = spec;
  switch (op.kind) {
    case 'create': {
      const customerId = at(setup.customers, op.customer);
      const orderId = op.target === 'existing' ? orderAt(spec.pick) : `${setup.runId}-o${++box.ordersNamed}`;
      const target = op.target === 'keyed' ? ({ kind: 'newOrder' } as const) : ({ kind: 'order', orderId } as const);
      return { target, op: { type: 'CreateOrder', customerId, address: op.address }, key, as: sender(customerId) };
    }
    case 'deposit':
    case 'withdraw': {
      const customerId = at(setup.customers, spec.pick);
      const type = op.kind === 'deposit' ? 'Deposit' : 'Withdraw';
      return { target: { kind: 'account', customerId }, op: { type, amountCents: op.cents }, key, as: sender(customerId) };
    }
    case 'restock': {
      const productId = productAt(op.product);
      return {
        target: { kind: 'product', productId },
        op: { type: 'Restock', quantity: op.units },
        key,
        as: spec.caller === 'admin' ? ADMIN : customer(at(setup.customers, spec.pick)),
      };
    }
    default: {
      // Shipping and cancelling aim at confirmed orders a third of the time: few orders get there.
      const confirmed = state.orderIds.filter((id) => state.orders[id]!.status === 'CONFIRMED');
      const aimsAtConfirmed = (op.kind === 'ship' || op.kind === 'cancel') && confirmed.length > 0 && spec.pick % 3 === 0;
      const order = state.orders[aimsAtConfirmed ? at(confirmed, spec.pick) : orderAt(spec.pick)]!;
      const call = (callOp: Call['op']): Call => ({ target: { kind: 'order', orderId: order.orderId }, op: callOp, key, as: sender(order.customerId) });
      // Quantity changes and removals mostly aim at the cart's lines.
      const inCart = (i: number) => (order.lines.length > 0 && i % 4 !== 0 ? at(order.lines, i >> 2).productId : productAt(i));
      switch (op.kind) {
        case 'addItem':
          return call({ type: 'AddItem', productId: productAt(op.product), quantity: op.quantity });
        case 'changeQuantity':
          return call({ type: 'ChangeItemQuantity', productId: inCart(op.product), quantity: op.quantity });
        case 'removeItem':
          return call({ type: 'RemoveItem', productId: inCart(op.product) });
        case 'setAddress':
          return call({ type: 'ChangeShippingAddress', address: op.address });
        case 'checkout':
          return call({ type: 'Checkout' });
        case 'cancel':
          return call({ type: 'Cancel', reason: op.reason });
        case 'ship':
          return call({ type: 'Ship' });
      }
    }
  }
}

function describeSpec({ op, pick, caller, key }: Spec): string {
  const { kind, ...fields } = op;
  const details = Object.entries(fields).map(([name, value]) => `${name} ${JSON.stringify(value)}`);
  const subject = op.kind === 'deposit' || op.kind === 'withdraw' ? `account#${pick}` : needsOrder(op) ? `order#${pick}` : undefined;
  return `${kind}(${[subject, ...details, describeKey(key), `as ${caller}`].filter(Boolean).join(', ')})`;
}

type ModelCommand = fc.AsyncCommand<ModelBox, World>;

/** One request, answered before the next command. */
class Send implements ModelCommand {
  constructor(private readonly spec: Spec) {}
  check = (box: Readonly<ModelBox>) => canResolve(box.state, this.spec);
  async run(box: ModelBox, world: World): Promise<void> {
    world.stats.count('commands');
    await world.play(box, [resolve(box, world.setup, this.spec)]);
  }
  toString = () => describeSpec(this.spec);
}

/** An earlier keyed request sent again exactly: a client retrying after a lost answer. */
class Retry implements ModelCommand {
  constructor(private readonly pick: number) {}
  check = (box: Readonly<ModelBox>) => box.history.length > 0;
  async run(box: ModelBox, world: World): Promise<void> {
    world.stats.count('commands');
    world.stats.count('retries');
    await world.play(box, [box.history[this.pick % box.history.length]!]);
  }
  toString = () => `retry(request#${this.pick})`;
}

/**
 * Requests fired at once: the same request several times (one key), or different ones (on one
 * order, or anywhere). Their answers must fit some serial order.
 */
class Together implements ModelCommand {
  constructor(
    private readonly specs: readonly Spec[],
    private readonly copies: number,
  ) {}
  check = (box: Readonly<ModelBox>) => this.specs.every((s) => canResolve(box.state, s));
  async run(box: ModelBox, world: World): Promise<void> {
    world.stats.count('commands');
    world.stats.count('concurrentGroups');
    const calls =
      this.copies > 1 ? Array<Call>(this.copies).fill(resolve(box, world.setup, this.specs[0]!)) : this.specs.map((s) => resolve(box, world.setup, s));
    await world.play(box, calls);
  }
  toString = () => `together(${this.copies > 1 ? `${this.copies}× ${describeSpec(this.specs[0]!)}` : this.specs.map(describeSpec).join(' | ')})`;
}

/** Reads an order, a product's stock or a wallet and compares it with the model. */
class Inspect implements ModelCommand {
  constructor(
    private readonly what: 'order' | 'stock' | 'account',
    private readonly pick: number,
  ) {}
  check = (box: Readonly<ModelBox>) => this.what !== 'order' || box.state.orderIds.length > 0;
  async run(box: ModelBox, world: World): Promise<void> {
    world.stats.count('commands');
    await world.inspect(box.state, this.what, this.pick);
  }
  toString = () => `inspect(${this.what}#${this.pick})`;
}

const orderSpecs = opSpec(orderOps);
const concurrent = weighted<ModelCommand>(
  // The same request two or three times at once, with one key.
  [2, fc.tuple(anySpec, presentKeySpec, fc.integer({ min: 2, max: 3 })).map(([spec, key, copies]) => new Together([{ ...spec, key }], copies))],
  // Two different commands on one order.
  [
    2,
    fc
      .tuple(orderSpecs, weighted<Spec>([3, orderSpecs], [1, opSpec(fc.constant({ kind: 'ship' as const }), adminCaller)]))
      .map(([a, b]) => new Together([a, { ...b, pick: a.pick }], 1)),
  ],
  // Anything, two or three at a time (checkouts of different orders race for stock and money).
  [1, fc.array(anySpec, { minLength: 2, maxLength: 3 }).map((specs) => new Together(specs, 1))],
);

/** The command sequences of one model run. */
export function modelCommands(maxCommands: number) {
  return fc.commands(
    [
      weighted<ModelCommand>(
        [14, anySpec.map((spec) => new Send(spec))],
        [2, fc.nat().map((pick) => new Retry(pick))],
        [3, concurrent],
        [1, fc.tuple(fc.constantFrom('order' as const, 'stock' as const, 'account' as const), fc.nat()).map(([what, pick]) => new Inspect(what, pick))],
      ),
    ],
    { maxCommands, size: 'medium' },
  );
}
