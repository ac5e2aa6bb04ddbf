import { isDeepStrictEqual } from 'node:util';
import type { Principal } from '../../src/auth/tokens';
import { sampleAddress } from '../support/orders';

/*
 * The reference model: what the service must answer, written from its rules (README.md, the brief
 * of issue 12), not from its code. Orders, stock and wallets in memory, plus the Idempotency-Keys
 * each resource has accepted.
 *
 * The model does not predict every number: versions are only known to grow (a checkout appends a
 * varying number of events), so each resource keeps the last version it answered and every change
 * must answer a higher one. Everything else it knows exactly: statuses, totals, lines, balances,
 * stock on hand, and which request is refused with which code.
 *
 * `step` judges one answer to one request and returns the model after it. Where the rules allow
 * more than one answer (two rules broken at once, a concurrent checkout holding stock for a moment)
 * it accepts each, and a checkout's answer (the order read after its saga settled) may show what
 * commands racing with it did next; `explain` in judge.ts resolves those against the other answers.
 */

export const ADDRESSES = [sampleAddress, { name: 'Grace Hopper', line1: '1 Navy Way', city: 'Arlington', postalCode: '22202', country: 'US' }];

const MAX_LINE_QUANTITY = 1000;
const MAX_ORDER_TOTAL_CENTS = 1_000_000_000;
const MAX_AMOUNT_CENTS = 1_000_000_000;
const MAX_RESTOCK_UNITS = 1_000_000_000;

export type OrderStatus = 'PENDING' | 'CONFIRMED' | 'SHIPPED' | 'CANCELLED';

export type Op =
  | { type: 'CreateOrder'; customerId: string; address: number | null }
  | { type: 'AddItem'; productId: string; quantity: number }
  | { type: 'ChangeItemQuantity'; productId: string; quantity: number }
  | { type: 'RemoveItem'; productId: string }
  | { type: 'ChangeShippingAddress'; address: number }
  | { type: 'Checkout' }
  | { type: 'Cancel'; reason: string }
  | { type: 'Ship' }
  | { type: 'Deposit'; amountCents: number }
  | { type: 'Withdraw'; amountCents: number }
  | { type: 'Restock'; quantity: number };

export type Target =
  | { kind: 'order'; orderId: string }
  /** `POST /orders` without an orderId: the service names the order (from the key, when there is one). */
  | { kind: 'newOrder' }
  | { kind: 'account'; customerId: string }
  | { kind: 'product'; productId: string };

/** One HTTP request, as the model sees it. */
export interface Call {
  target: Target;
  op: Op;
  key: string | undefined;
  as: Principal;
}

/** What the model reads of an answer body; every field is optional because a problem has none of them. */
export interface AnswerBody {
  code?: string;
  orderId?: string;
  version?: number;
  status?: string;
  totalCents?: number;
  items?: Array<{ productId: string; quantity: number; unitPriceCents: number }>;
  lastCheckoutFailure?: { code: string } | null;
  balanceCents?: number;
  onHand?: number;
  reserved?: number;
  available?: number;
  checkoutAttempts?: number;
}

export interface Answer {
  status: number;
  body: AnswerBody | undefined;
  /** What the driver learned beyond the answer itself (a checkout that never settled). */
  note?: string;
}

export interface ModelOrder {
  orderId: string;
  customerId: string;
  status: OrderStatus;
  lines: Array<{ productId: string; quantity: number }>;
  address: number | null;
  lastFailure: string | null;
  /** What its confirmed checkout took from the wallet: a cancellation gives it back. */
  paidCents: number;
  version: number;
}

/** What a key was first accepted for on its resource, and the answer every repeat must get. */
interface KeyBinding {
  fingerprint: string;
  answer: AnswerDigest;
}

interface AnswerDigest {
  status: number;
  version: number | undefined;
  /** The answer's main field: the order's status, the balance, the units on hand. */
  summary: string | number | undefined;
}

export interface ModelState {
  /** productId → price in cents: fixed for the run. */
  catalog: Record<string, number>;
  orders: Record<string, ModelOrder>;
  /** Orders in the order they were created: requests pick them by index. */
  orderIds: string[];
  stock: Record<string, { onHand: number; version: number }>;
  wallets: Record<string, { balanceCents: number; version: number; opened: boolean }>;
  /** `<scope>\n<key>` → binding. */
  keys: Record<string, KeyBinding>;
  /** `<customerId>\n<key>` → the order `POST /orders` without an orderId created with that key. */
  keyedOrders: Record<string, string>;
}

export type Branch = { state: ModelState; view?: PendingView };
export type Verdict = { branches: Branch[] } | { why: string };

/** A checkout's answer: the order as read after its saga settled, checked against a later model. */
export interface PendingView {
  orderId: string;
  answer: Answer;
  /** The order's version before the checkout: the view must be past it. */
  afterVersion: number;
}

/** Allowed refusals: [HTTP status, problem code]. */
type Refusal = ReadonlyArray<readonly [number, string]>;

interface Acceptance {
  httpStatus: number;
  /** The order status the answer must state (order commands). */
  orderStatus?: OrderStatus;
  /** False when the rules allow the command to change nothing (same quantity, same address). */
  changes: boolean;
  apply(next: ModelState): void;
}

type Decision = { refusal: Refusal } | { acceptance: Acceptance } | { checkout: ModelOrder };

/**
 * Plain JSON, copied through JSON: structuredClone would make its objects in Node's own realm, which
 * under jest's sandbox makes isDeepStrictEqual tell equal values apart by their prototypes.
 */
export const clone = (state: ModelState): ModelState => JSON.parse(JSON.stringify(state)) as ModelState;

export function totalOf(state: ModelState, order: Pick<ModelOrder, 'lines'>): number {
  return order.lines.reduce((sum, line) => sum + (state.catalog[line.productId] ?? 0) * line.quantity, 0);
}

export const isClosed = (order: ModelOrder): boolean => order.status === 'SHIPPED' || order.status === 'CANCELLED';

export function describeAnswer(answer: Answer): string {
  const b = answer.body;
  const parts = [String(answer.status)];
  if (b?.code) parts.push(b.code);
  if (b?.orderId && answer.status === 201) parts.push(b.orderId);
  if (b?.version !== undefined) parts.push(`v${b.version}`);
  if (b?.status) parts.push(b.status);
  if (b?.totalCents !== undefined) parts.push(`total ${b.totalCents}`);
  if (b?.lastCheckoutFailure) parts.push(`failure ${b.lastCheckoutFailure.code}`);
  if (b?.balanceCents !== undefined) parts.push(`balance ${b.balanceCents}`);
  if (b?.onHand !== undefined) parts.push(`onHand ${b.onHand}`);
  if (answer.note) parts.push(`(${answer.note})`);
  return parts.join(' ');
}

const bindingKey = (scope: string, key: string) => `${scope}\n${key}`;
const keyedOrderKey = (customerId: string, key: string) => `${customerId}\n${key}`;
/** What makes two requests the same request: the command and its payload, not who sent it. */
const fingerprint = (op: Op): string => JSON.stringify(op);

function digestOf(op: Op, answer: Answer): AnswerDigest {
  const b = answer.body;
  const summary = op.type === 'Deposit' || op.type === 'Withdraw' ? b?.balanceCents : op.type === 'Restock' ? b?.onHand : b?.status;
  return { status: answer.status, version: b?.version, summary };
}

/** The order a call is about, if it exists in the model. */
export function orderOf(state: ModelState, call: Call): ModelOrder | undefined {
  if (call.target.kind === 'order') return state.orders[call.target.orderId];
  if (call.target.kind === 'newOrder' && call.op.type === 'CreateOrder' && call.key !== undefined) {
    const orderId = state.keyedOrders[keyedOrderKey(call.op.customerId, call.key)];
    return orderId === undefined ? undefined : state.orders[orderId];
  }
  return undefined;
}

function scopeOf(call: Call, order: ModelOrder | undefined): string {
  if (order) return `order:${order.orderId}`;
  if (call.target.kind === 'account') return `account:${call.target.customerId}`;
  if (call.target.kind === 'product') return `product:${call.target.productId}`;
  throw new Error(`no resource for ${JSON.stringify(call.target)}`);
}

/** Judges `answer` to `call` in `state`; `contention`: another order's checkout runs at the same time. */
export function step(state: ModelState, call: Call, answer: Answer, contention: boolean): Verdict {
  const denied = accessRefusal(state, call);
  if (denied) return refused(state, answer, denied);
  const order = orderOf(state, call);
  if (call.op.type === 'CreateOrder' && !order) return createdOrder(state, call, call.op, answer);

  const scope = scopeOf(call, order);
  const bound = call.key === undefined ? undefined : state.keys[bindingKey(scope, call.key)];
  if (bound) {
    if (bound.fingerprint === fingerprint(call.op)) {
      return order
        ? sameAnswer(state, bound.answer, digestOf(call.op, answer), answer)
        : answeredAsNow(state, call, bound.answer, digestOf(call.op, answer), answer);
    }
    const alternatives: Array<readonly [number, string]> = [[422, 'IDEMPOTENCY_KEY_REUSED']];
    // Which refusal comes first is not a rule: a closed order or an existing id may be told first.
    if (order && isClosed(order)) alternatives.push([409, 'ORDER_CLOSED']);
    if (call.op.type === 'CreateOrder') alternatives.push([409, 'ORDER_ALREADY_EXISTS']);
    return refused(state, answer, alternatives);
  }

  const decision = order ? decideOrderCommand(state, order, call.op) : decideStockOrWallet(state, call);
  if ('refusal' in decision) return refused(state, answer, decision.refusal);
  const bind = (next: ModelState) => {
    if (call.key !== undefined) next.keys[bindingKey(scope, call.key)] = { fingerprint: fingerprint(call.op), answer: digestOf(call.op, answer) };
  };
  if ('checkout' in decision) return checkedOut(state, decision.checkout, answer, contention, bind);
  return accepted(state, call, order, answer, decision.acceptance, bind);
}

function accessRefusal(state: ModelState, call: Call): Refusal | undefined {
  const { as, op, target } = call;
  const customer = as.role === 'customer' ? as.sub : undefined;
  if ((op.type === 'Ship' || op.type === 'Restock') && as.role !== 'admin') return [[403, 'FORBIDDEN']];
  if (op.type === 'Restock' && target.kind === 'product' && state.catalog[target.productId] === undefined) return [[404, 'PRODUCT_NOT_FOUND']];
  // A customer creates only its own orders, and names no order id (the id comes from its key or the server).
  if (op.type === 'CreateOrder') return customer !== undefined && (customer !== op.customerId || target.kind === 'order') ? [[403, 'FORBIDDEN']] : undefined;
  // Another customer's order or account answers as if it did not exist.
  if (target.kind === 'order' && customer !== undefined && state.orders[target.orderId]?.customerId !== customer) return [[404, 'ORDER_NOT_FOUND']];
  if (target.kind === 'account' && customer !== undefined && customer !== target.customerId) return [[404, 'ACCOUNT_NOT_FOUND']];
  return undefined;
}

function refused(state: ModelState, answer: Answer, allowed: Refusal): Verdict {
  const code = answer.body?.code;
  if (allowed.some(([status, c]) => status === answer.status && c === code)) return { branches: [{ state }] };
  return { why: `expected ${allowed.map(([s, c]) => `${s} ${c}`).join(' or ')}, got ${describeAnswer(answer)}` };
}

function sameAnswer(state: ModelState, first: AnswerDigest, now: AnswerDigest, answer: Answer): Verdict {
  if (isDeepStrictEqual(first, now)) return { branches: [{ state }] };
  return {
    why: `a repeat of an accepted request (same key, same command and payload) must get its first answer ${first.status} v${first.version} ${first.summary}, got ${describeAnswer(answer)}`,
  };
}

/**
 * A repeated deposit, withdrawal or restock acts once and answers the account or stock as it is
 * now (README: they answer the current state), not as it was after the first time.
 */
function answeredAsNow(state: ModelState, call: Call, first: AnswerDigest, now: AnswerDigest, answer: Answer): Verdict {
  const { target } = call;
  const current =
    target.kind === 'account' ? state.wallets[target.customerId]?.balanceCents : target.kind === 'product' ? state.stock[target.productId]?.onHand : undefined;
  if (now.status === first.status && now.summary === current) return { branches: [{ state }] };
  return { why: `a repeat of an accepted request must act once and answer ${first.status} with the current ${current}, got ${describeAnswer(answer)}` };
}

function createdOrder(state: ModelState, call: Call, op: Extract<Op, { type: 'CreateOrder' }>, answer: Answer): Verdict {
  const orderId = call.target.kind === 'order' ? call.target.orderId : answer.body?.orderId;
  const version = answer.body?.version;
  if (answer.status !== 201 || answer.body?.status !== 'PENDING' || version === undefined || version < 1) {
    return { why: `expected 201 PENDING (a new order), got ${describeAnswer(answer)}` };
  }
  if (orderId === undefined || answer.body?.orderId !== orderId || state.orders[orderId]) {
    return { why: `expected a new order${call.target.kind === 'order' ? ` ${call.target.orderId}` : ''}, got order ${answer.body?.orderId}` };
  }
  const next = clone(state);
  next.orders[orderId] = { orderId, customerId: op.customerId, status: 'PENDING', lines: [], address: op.address, lastFailure: null, paidCents: 0, version };
  next.orderIds.push(orderId);
  if (call.key !== undefined) {
    next.keys[bindingKey(`order:${orderId}`, call.key)] = { fingerprint: fingerprint(op), answer: digestOf(op, answer) };
    if (call.target.kind === 'newOrder') next.keyedOrders[keyedOrderKey(op.customerId, call.key)] = orderId;
  }
  return { branches: [{ state: next }] };
}

const refuse = (status: number, ...codes: string[]): Decision => ({ refusal: codes.map((code) => [status, code] as const) });
const validQuantity = (quantity: number) => Number.isInteger(quantity) && quantity >= 1 && quantity <= MAX_LINE_QUANTITY;
const validAmount = (cents: number) => Number.isInteger(cents) && cents >= 1 && cents <= MAX_AMOUNT_CENTS;

function decideOrderCommand(state: ModelState, order: ModelOrder, op: Op): Decision {
  if (isClosed(order)) return op.type === 'CreateOrder' ? refuse(409, 'ORDER_ALREADY_EXISTS', 'ORDER_CLOSED') : refuse(409, 'ORDER_CLOSED');
  const notPending = order.status !== 'PENDING';
  const line = 'productId' in op ? order.lines.find((l) => l.productId === op.productId) : undefined;
  const totalWith = (productId: string, quantity: number) =>
    totalOf(state, { lines: [...order.lines.filter((l) => l.productId !== productId), { productId, quantity }] });
  const change = (changes: boolean, apply: (o: ModelOrder, next: ModelState) => void, orderStatus: OrderStatus = 'PENDING'): Decision => ({
    acceptance: { httpStatus: 200, orderStatus, changes, apply: (next) => apply(next.orders[order.orderId]!, next) },
  });
  switch (op.type) {
    case 'CreateOrder':
      return refuse(409, 'ORDER_ALREADY_EXISTS');
    case 'AddItem': {
      if (notPending) return refuse(409, 'ORDER_NOT_PENDING');
      const broken: string[] = [];
      if (!validQuantity(op.quantity)) broken.push('INVALID_QUANTITY');
      if (state.catalog[op.productId] === undefined) broken.push('PRODUCT_NOT_FOUND');
      const merged = (line?.quantity ?? 0) + op.quantity;
      if (broken.length === 0 && merged > MAX_LINE_QUANTITY) broken.push('INVALID_QUANTITY');
      if (broken.length === 0 && totalWith(op.productId, merged) > MAX_ORDER_TOTAL_CENTS) broken.push('ORDER_TOTAL_TOO_LARGE');
      if (broken.length > 0) return refuse(422, ...broken);
      return change(true, (o) => {
        const existing = o.lines.find((l) => l.productId === op.productId);
        if (existing) existing.quantity = merged;
        else o.lines.push({ productId: op.productId, quantity: op.quantity });
      });
    }
    case 'ChangeItemQuantity': {
      if (notPending) return refuse(409, 'ORDER_NOT_PENDING');
      const broken: string[] = [];
      if (!validQuantity(op.quantity)) broken.push('INVALID_QUANTITY');
      if (!line) broken.push('ITEM_NOT_IN_CART');
      if (broken.length === 0 && totalWith(op.productId, op.quantity) > MAX_ORDER_TOTAL_CENTS) broken.push('ORDER_TOTAL_TOO_LARGE');
      if (broken.length > 0 || !line) return refuse(422, ...broken);
      return change(line.quantity !== op.quantity, (o) => {
        o.lines = o.lines.map((l) => (l.productId === op.productId ? { ...l, quantity: op.quantity } : l));
      });
    }
    case 'RemoveItem':
      if (notPending) return refuse(409, 'ORDER_NOT_PENDING');
      if (!line) return refuse(422, 'ITEM_NOT_IN_CART');
      return change(true, (o) => {
        o.lines = o.lines.filter((l) => l.productId !== op.productId);
      });
    case 'ChangeShippingAddress':
      if (notPending) return refuse(409, 'ORDER_NOT_PENDING');
      return change(order.address !== op.address, (o) => {
        o.address = op.address;
      });
    case 'Checkout': {
      if (notPending) return refuse(409, 'ORDER_NOT_PENDING');
      const broken: string[] = [];
      if (order.lines.length === 0) broken.push('CART_EMPTY');
      if (order.address === null) broken.push('SHIPPING_ADDRESS_MISSING');
      return broken.length > 0 ? refuse(422, ...broken) : { checkout: order };
    }
    case 'Cancel':
      return change(
        true,
        (o, next) => {
          // A confirmed order gives back what its checkout took.
          if (o.status === 'CONFIRMED') {
            for (const l of o.lines) next.stock[l.productId]!.onHand += l.quantity;
            next.wallets[o.customerId]!.balanceCents += o.paidCents;
          }
          o.status = 'CANCELLED';
        },
        'CANCELLED',
      );
    case 'Ship':
      if (order.status !== 'CONFIRMED') return refuse(409, 'ORDER_NOT_CONFIRMED');
      return change(
        true,
        (o) => {
          o.status = 'SHIPPED';
        },
        'SHIPPED',
      );
    case 'Deposit':
    case 'Withdraw':
    case 'Restock':
      throw new Error(`${op.type} is not an order command`);
  }
}

function decideStockOrWallet(state: ModelState, { op, target }: Call): Decision {
  if (target.kind === 'account' && (op.type === 'Deposit' || op.type === 'Withdraw')) {
    const balance = state.wallets[target.customerId]!.balanceCents;
    const broken: string[] = [];
    if (!validAmount(op.amountCents)) broken.push('INVALID_AMOUNT');
    if (op.type === 'Withdraw' && op.amountCents > balance) broken.push('INSUFFICIENT_FUNDS');
    if (broken.length > 0) return refuse(422, ...broken);
    const balanceCents = op.type === 'Deposit' ? balance + op.amountCents : balance - op.amountCents;
    return {
      acceptance: {
        httpStatus: 200,
        changes: true,
        apply(next) {
          const wallet = next.wallets[target.customerId]!;
          wallet.balanceCents = balanceCents;
          wallet.opened = true;
        },
      },
    };
  }
  if (target.kind === 'product' && op.type === 'Restock') {
    if (!Number.isInteger(op.quantity) || op.quantity < 1 || op.quantity > MAX_RESTOCK_UNITS) return refuse(422, 'INVALID_QUANTITY');
    return {
      acceptance: {
        httpStatus: 200,
        changes: true,
        apply(next) {
          next.stock[target.productId]!.onHand += op.quantity;
        },
      },
    };
  }
  throw new Error(`no rule for ${op.type} on ${target.kind}`);
}

/** The resource's last answered version (a lower bound for wallets and stock, which sagas move too). */
function versionRecord(state: ModelState, call: Call, order: ModelOrder | undefined): { version: number } {
  if (order) return state.orders[order.orderId]!;
  if (call.target.kind === 'account') return state.wallets[call.target.customerId]!;
  if (call.target.kind === 'product') return state.stock[call.target.productId]!;
  throw new Error(`no versioned resource for ${JSON.stringify(call.target)}`);
}

function accepted(
  state: ModelState,
  call: Call,
  order: ModelOrder | undefined,
  answer: Answer,
  acceptance: Acceptance,
  bind: (next: ModelState) => void,
): Verdict {
  const expected = `${acceptance.httpStatus}${acceptance.orderStatus ? ` ${acceptance.orderStatus}` : ''}`;
  if (answer.status !== acceptance.httpStatus || (acceptance.orderStatus && answer.body?.status !== acceptance.orderStatus)) {
    return { why: `expected ${expected}, got ${describeAnswer(answer)}` };
  }
  const before = versionRecord(state, call, order).version;
  const version = answer.body?.version;
  if (typeof version !== 'number' || version < before || (acceptance.changes && version === before)) {
    return { why: `expected ${expected} at a version ${acceptance.changes ? 'past' : 'of at least'} ${before}, got ${describeAnswer(answer)}` };
  }
  const next = clone(state);
  acceptance.apply(next);
  versionRecord(next, call, order).version = version;
  const fieldWhy = fieldMismatch(next, call, answer);
  if (fieldWhy) return { why: fieldWhy };
  bind(next);
  return { branches: [{ state: next }] };
}

/** What a wallet or restock answer states beside its version. */
function fieldMismatch(next: ModelState, { op, target }: Call, answer: Answer): string | undefined {
  if (target.kind === 'account' && (op.type === 'Deposit' || op.type === 'Withdraw')) {
    const balance = next.wallets[target.customerId]!.balanceCents;
    if (answer.body?.balanceCents !== balance) return `expected balance ${balance}, got ${describeAnswer(answer)}`;
  }
  if (target.kind === 'product' && op.type === 'Restock') {
    const onHand = next.stock[target.productId]!.onHand;
    if (answer.body?.onHand !== onHand) return `expected onHand ${onHand}, got ${describeAnswer(answer)}`;
  }
  return undefined;
}

/**
 * A checkout with `?wait=true`: the settled order. CONFIRMED when every line's stock covers it and
 * the wallet covers the total (both are then taken), else PENDING again with the failure (stock is
 * reserved before money is taken, so a shortage of both is INSUFFICIENT_STOCK) and nothing taken.
 */
function checkedOut(state: ModelState, order: ModelOrder, answer: Answer, contention: boolean, bind: (next: ModelState) => void): Verdict {
  if (answer.status !== 200)
    return { why: `expected 200 with the settled order (CONFIRMED, or PENDING with its checkout failure), got ${describeAnswer(answer)}` };
  const total = totalOf(state, order);
  const shortOfStock = order.lines.some((l) => (state.stock[l.productId]?.onHand ?? 0) < l.quantity);
  const predicted = shortOfStock ? 'INSUFFICIENT_STOCK' : state.wallets[order.customerId]!.balanceCents < total ? 'INSUFFICIENT_FUNDS' : null;
  // Another order's saga racing this one holds its units for a moment (reserved, then committed or
  // released): this checkout may find them unavailable although no serial order would.
  const outcomes = contention && predicted !== 'INSUFFICIENT_STOCK' ? [predicted, 'INSUFFICIENT_STOCK'] : [predicted];
  return {
    branches: outcomes.map((failure) => {
      const next = clone(state);
      const settled = next.orders[order.orderId]!;
      if (failure === null) {
        for (const l of settled.lines) next.stock[l.productId]!.onHand -= l.quantity;
        next.wallets[settled.customerId]!.balanceCents -= total;
        Object.assign(settled, { status: 'CONFIRMED', lastFailure: null, paidCents: total });
      } else {
        Object.assign(settled, { status: 'PENDING', lastFailure: failure });
      }
      bind(next);
      return { state: next, view: { orderId: order.orderId, answer, afterVersion: order.version } };
    }),
  };
}

/** Whether a checkout's answer shows its order as it is in `state`, past the version it started from. */
export function viewMismatch(state: ModelState, view: PendingView): string | undefined {
  const version = view.answer.body?.version;
  if (typeof version !== 'number' || version <= view.afterVersion) return `expected a version past ${view.afterVersion}, got ${describeAnswer(view.answer)}`;
  return orderMismatch(state, state.orders[view.orderId]!, view.answer.body);
}

function orderMismatch(state: ModelState, order: ModelOrder, body: AnswerBody | undefined): string | undefined {
  const byProduct = (a: { productId: string }, b: { productId: string }) => a.productId.localeCompare(b.productId);
  const expected = {
    status: order.status,
    totalCents: totalOf(state, order),
    items: order.lines.map((l) => ({ productId: l.productId, quantity: l.quantity, unitPriceCents: state.catalog[l.productId] })).sort(byProduct),
    lastCheckoutFailure: order.lastFailure,
  };
  const actual = {
    status: body?.status,
    totalCents: body?.totalCents,
    items: (body?.items ?? []).map((l) => ({ productId: l.productId, quantity: l.quantity, unitPriceCents: l.unitPriceCents })).sort(byProduct),
    lastCheckoutFailure: body?.lastCheckoutFailure?.code ?? null,
  };
  return isDeepStrictEqual(expected, actual) ? undefined : `expected order ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
}

/** After a checkout's view showed a later state, the order's last version is the highest answered. */
export function withViewVersion(state: ModelState, view: PendingView): ModelState {
  const next = clone(state);
  const order = next.orders[view.orderId]!;
  order.version = Math.max(order.version, view.answer.body?.version ?? 0);
  return next;
}

/** `GET /orders/:id?consistency=strong`: the order as the model has it, at the last version answered, never stuck PLACED. */
export function orderReadMismatch(state: ModelState, orderId: string, answer: Answer): string | undefined {
  const order = state.orders[orderId]!;
  if (answer.status !== 200) return `expected 200, got ${describeAnswer(answer)}`;
  if (answer.body?.status === 'PLACED') return `stuck: still PLACED, its checkout never settled (${describeAnswer(answer)})`;
  if (answer.body?.version !== order.version) return `expected version ${order.version} (the last one answered), got ${describeAnswer(answer)}`;
  return orderMismatch(state, order, answer.body);
}

/** `GET /inventory/:productId`: nothing reserved once every checkout settled. */
export function stockReadMismatch(state: ModelState, productId: string, answer: Answer): string | undefined {
  const stock = state.stock[productId]!;
  const b = answer.body;
  if (answer.status === 200 && b?.onHand === stock.onHand && b.reserved === 0 && b.available === stock.onHand && (b.version ?? 0) >= stock.version) {
    return undefined;
  }
  return `expected 200 onHand ${stock.onHand} reserved 0 available ${stock.onHand} at a version of at least ${stock.version}, got ${describeAnswer(answer)} reserved ${b?.reserved} available ${b?.available}`;
}

/**
 * `GET /accounts/:customerId?consistency=strong`: the balance. A wallet nobody paid into may not
 * exist yet (404), or may (a failed checkout's compensation can open it): the rules do not say.
 */
export function accountReadMismatch(state: ModelState, customerId: string, answer: Answer): string | undefined {
  const wallet = state.wallets[customerId]!;
  if (!wallet.opened && answer.status === 404 && answer.body?.code === 'ACCOUNT_NOT_FOUND') return undefined;
  if (answer.status === 200 && answer.body?.balanceCents === wallet.balanceCents && (answer.body.version ?? 0) >= wallet.version) return undefined;
  const missing = wallet.opened ? '' : ' (or 404 ACCOUNT_NOT_FOUND)';
  return `expected 200 balance ${wallet.balanceCents} at a version of at least ${wallet.version}${missing}, got ${describeAnswer(answer)}`;
}
