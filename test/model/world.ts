import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Principal } from '../../src/auth/tokens';
import type { Pool } from '../../src/db/pool';
import { anyFailed, formatReport, runInvariants } from '../../src/invariants';
import type { ApiClient } from '../../src/client';
import { ADMIN, apiFor, createProduct } from '../support/harness';
import { explain } from './judge';
import {
  accountReadMismatch,
  ADDRESSES,
  clone,
  describeAnswer,
  orderReadMismatch,
  step,
  stockReadMismatch,
  type Answer,
  type AnswerBody,
  type Call,
  type ModelState,
} from './model';

/*
 * The real service, driven over HTTP: one World per model run, with its own products, customers
 * and orders (ids carry the run's prefix, so runs and other tests never share a resource).
 */

/** What every run talks to: the real API on a real port, Temporal and Postgres. */
export interface Env {
  baseUrl: string;
  client: Client;
  pool: Pool;
}

/** The model of one run, and the keyed requests it has seen (what a retry resends). */
export interface ModelBox {
  state: ModelState;
  history: Call[];
  ordersNamed: number;
}

export interface RunSetup {
  runId: string;
  customers: readonly string[];
  products: readonly { productId: string; priceCents: number }[];
  /** A well-formed product id the catalog does not know. */
  unknownProductId: string;
}

/** Fixed per run: prices (500 of the dearest total exactly the 1e9-cent order cap), initial stock, initial balances. */
const PRODUCTS = [
  { name: 'Mug', priceCents: 1250, units: 10 },
  { name: 'Plate', priceCents: 2000, units: 5 },
  { name: 'Clock', priceCents: 2_000_000, units: 1 },
];
const BALANCES = [50_000, 5_000, 0];

/** How long a checkout may take on a loaded machine (its saga, then the order recording its outcome) before the order is called stuck. */
const CHECKOUT_WAIT_MS = 65_000;
const TRANSCRIPT_SHOWN = 30;

/** What the search tried; runs that only shrink a failure are counted apart and tried nothing new. */
export class Stats {
  shrinking = false;
  shrinkRuns = 0;
  runs = 0;
  commands = 0;
  requests = 0;
  concurrentGroups = 0;
  retries = 0;
  inspections = 0;
  /** Checkouts that answered 202 after the wait but settled later. */
  slowCheckouts = 0;
  private readonly answers = new Map<string, Map<string, number>>();

  constructor(readonly log: (line: string) => void = () => undefined) {}

  count(what: 'commands' | 'concurrentGroups' | 'retries' | 'inspections' | 'slowCheckouts'): void {
    if (!this.shrinking) this[what] += 1;
  }

  answered(op: string, answer: Answer): void {
    if (this.shrinking) return;
    this.requests += 1;
    const outcome = answer.status >= 400 && answer.body?.code ? `${answer.status} ${answer.body.code}` : String(answer.status);
    const byOutcome = this.answers.get(op) ?? new Map<string, number>();
    byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + 1);
    this.answers.set(op, byOutcome);
  }

  format(): string {
    const lines = [
      `${this.runs} run(s), ${this.commands} command(s), ${this.requests} request(s): ${this.concurrentGroups} concurrent group(s), ${this.retries} retr(y/ies), ${this.inspections} inspection(s), ${this.slowCheckouts} slow checkout(s); ${this.shrinkRuns} more run(s) shrinking failures`,
      'answers (status and problem code) per command:',
    ];
    for (const [op, byOutcome] of [...this.answers].sort(([a], [b]) => a.localeCompare(b))) {
      const total = [...byOutcome.values()].reduce((a, b) => a + b, 0);
      const outcomes = [...byOutcome].sort(([a], [b]) => a.localeCompare(b)).map(([outcome, n]) => `${outcome} ×${n}`);
      lines.push(`  ${op.padEnd(21)} ${String(total).padStart(5)}  ${outcomes.join(', ')}`);
    }
    return lines.join('\n');
  }
}

/** What the driver sends for a call, and how the typed client sends it (with the call's key, if any). */
interface Request {
  /** The method and path, for the transcript. */
  shown: string;
  body?: unknown;
  send(api: ApiClient, header: { 'Idempotency-Key'?: string }): Promise<{ response: Response; data?: unknown; error?: unknown }>;
}

function requestOf(call: Call): Request {
  const { op, target } = call;
  const orderOf = () => {
    if (target.kind !== 'order') throw new Error(`${op.type} needs an order`);
    return target.orderId;
  };
  switch (op.type) {
    case 'CreateOrder': {
      const orderId = target.kind === 'order' ? { orderId: target.orderId } : {};
      const address = op.address === null ? {} : { shippingAddress: ADDRESSES[op.address]! };
      const body = { ...orderId, customerId: op.customerId, ...address };
      return { shown: 'POST /orders', body, send: (api, header) => api.POST('/orders', { params: { header }, body }) };
    }
    case 'AddItem': {
      const orderId = orderOf();
      const body = { productId: op.productId, quantity: op.quantity };
      return {
        shown: `POST /orders/${orderId}/items`,
        body,
        send: (api, header) => api.POST('/orders/{orderId}/items', { params: { path: { orderId }, header }, body }),
      };
    }
    case 'ChangeItemQuantity': {
      const orderId = orderOf();
      const { productId } = op;
      const body = { quantity: op.quantity };
      return {
        shown: `PATCH /orders/${orderId}/items/${productId}`,
        body,
        send: (api, header) => api.PATCH('/orders/{orderId}/items/{productId}', { params: { path: { orderId, productId }, header }, body }),
      };
    }
    case 'RemoveItem': {
      const orderId = orderOf();
      const { productId } = op;
      return {
        shown: `DELETE /orders/${orderId}/items/${productId}`,
        send: (api, header) => api.DELETE('/orders/{orderId}/items/{productId}', { params: { path: { orderId, productId }, header } }),
      };
    }
    case 'ChangeShippingAddress': {
      const orderId = orderOf();
      const body = ADDRESSES[op.address]!;
      return {
        shown: `PUT /orders/${orderId}/shipping-address`,
        body,
        send: (api, header) => api.PUT('/orders/{orderId}/shipping-address', { params: { path: { orderId }, header }, body }),
      };
    }
    case 'Checkout': {
      const orderId = orderOf();
      return {
        shown: `POST /orders/${orderId}/checkout?wait=true`,
        send: (api, header) => api.POST('/orders/{orderId}/checkout', { params: { path: { orderId }, query: { wait: 'true' }, header } }),
      };
    }
    case 'Cancel': {
      const orderId = orderOf();
      const body = { reason: op.reason };
      return {
        shown: `POST /orders/${orderId}/cancel`,
        body,
        send: (api, header) => api.POST('/orders/{orderId}/cancel', { params: { path: { orderId }, header }, body }),
      };
    }
    case 'Ship': {
      const orderId = orderOf();
      return { shown: `POST /orders/${orderId}/ship`, send: (api, header) => api.POST('/orders/{orderId}/ship', { params: { path: { orderId }, header } }) };
    }
    case 'Deposit':
    case 'Withdraw': {
      if (target.kind !== 'account') throw new Error(`${op.type} needs an account`);
      const { customerId } = target;
      const body = { amountCents: op.amountCents };
      return op.type === 'Deposit'
        ? {
            shown: `POST /accounts/${customerId}/deposits`,
            body,
            send: (api, header) => api.POST('/accounts/{customerId}/deposits', { params: { path: { customerId }, header }, body }),
          }
        : {
            shown: `POST /accounts/${customerId}/withdrawals`,
            body,
            send: (api, header) => api.POST('/accounts/{customerId}/withdrawals', { params: { path: { customerId }, header }, body }),
          };
    }
    case 'Restock': {
      if (target.kind !== 'product') throw new Error('Restock needs a product');
      const { productId } = target;
      const body = { quantity: op.quantity };
      return {
        shown: `POST /products/${productId}/stock`,
        body,
        send: (api, header) => api.POST('/products/{productId}/stock', { params: { path: { productId }, header }, body }),
      };
    }
  }
}

/**
 * The model's view of a typed answer: its status, and its body whichever the contract calls it.
 * The body is parsed again here: fetch's `json()` builds it in Node's realm, not the test's, and the
 * model compares with isDeepStrictEqual, which tells arrays of the two realms apart.
 */
const answerOf = (res: { response: Response; data?: unknown; error?: unknown }): Answer => {
  const body = res.data ?? res.error;
  return { status: res.response.status, body: body === undefined ? undefined : (JSON.parse(JSON.stringify(body)) as AnswerBody) };
};

const who = (as: Principal) => (as.role === 'admin' ? 'admin' : as.sub);

export class World {
  private readonly transcript: string[] = [];
  private requestCount = 0;

  private constructor(
    readonly env: Env,
    readonly setup: RunSetup,
    readonly stats: Stats,
    private readonly initial: ModelState,
  ) {}

  /** A run's own catalog (fixed prices, created like other tests create products), stock and wallets, set through the API. */
  static async start(env: Env, stats: Stats): Promise<World> {
    const runId = `m${randomUUID().slice(0, 8)}`;
    const products = await Promise.all(
      PRODUCTS.map(async (p) => ({ productId: await createProduct(env.pool, `${p.name} ${runId}`, p.priceCents), priceCents: p.priceCents })),
    );
    const setup: RunSetup = { runId, customers: BALANCES.map((_, i) => `${runId}-c${i}`), products, unknownProductId: `${runId}-no-such-product` };
    const state: ModelState = { catalog: {}, orders: {}, orderIds: [], stock: {}, wallets: {}, keys: {}, keyedOrders: {} };
    const admin = apiFor(env.baseUrl);
    const setupKey = () => ({ 'Idempotency-Key': `setup-${randomUUID()}` });
    const setUp = async (what: string, sent: Promise<{ response: Response; data?: unknown; error?: unknown }>) => {
      const answer = answerOf(await sent);
      if (answer.status !== 200) throw new Error(`model setup ${what}: ${answer.status} ${JSON.stringify(answer.body)}`);
      return answer.body!;
    };
    for (const [i, { productId, priceCents }] of products.entries()) {
      state.catalog[productId] = priceCents;
      const quantity = PRODUCTS[i]!.units;
      const restocked = await setUp(
        `stock of ${productId}`,
        admin.POST('/products/{productId}/stock', { params: { path: { productId }, header: setupKey() }, body: { quantity } }),
      );
      state.stock[productId] = { onHand: quantity, version: restocked.version ?? 0 };
    }
    for (const [i, customerId] of setup.customers.entries()) {
      const cents = BALANCES[i]!;
      const deposited =
        cents > 0
          ? await setUp(
              `account ${customerId}`,
              admin.POST('/accounts/{customerId}/deposits', { params: { path: { customerId }, header: setupKey() }, body: { amountCents: cents } }),
            )
          : undefined;
      state.wallets[customerId] = { balanceCents: cents, version: deposited?.version ?? 0, opened: cents > 0 };
    }
    if (stats.shrinking) stats.shrinkRuns += 1;
    else stats.runs += 1;
    return new World(env, setup, stats, state);
  }

  newModel(): ModelBox {
    return { state: clone(this.initial), history: [], ordersNamed: 0 };
  }

  /** Sends the calls at once, and brings the model to the state their answers show, or throws why it cannot. */
  async play(box: ModelBox, calls: readonly Call[]): Promise<void> {
    const first = this.requestCount + 1;
    this.requestCount += calls.length;
    const answers = await Promise.all(calls.map((call, i) => this.send(call, first + i, calls.length > 1)));
    const explained = explain(box.state, calls, answers, (i) => `request #${first + i}`);
    if ('why' in explained) throw this.failure(explained.why);
    box.state = explained.state;
    box.history.push(...calls.filter((c) => c.key !== undefined));
  }

  private async send(call: Call, number: number, together: boolean): Promise<Answer> {
    const request = requestOf(call);
    let answer: Answer;
    try {
      answer = answerOf(await request.send(apiFor(this.env.baseUrl, call.as), call.key === undefined ? {} : { 'Idempotency-Key': call.key }));
    } catch (err) {
      answer = { status: 0, body: undefined, note: `no answer: ${(err as Error).message}` };
    }
    if (call.op.type === 'Checkout' && answer.status === 202 && answer.body?.status === 'PLACED' && call.target.kind === 'order') {
      answer = await this.afterCheckoutWait(call.target.orderId, answer);
    }
    this.stats.answered(call.op.type, answer);
    const key = call.key === undefined ? 'no key' : `key ${JSON.stringify(call.key)}`;
    const sent = request.body === undefined ? '' : ` ${JSON.stringify(request.body)}`;
    this.transcript.push(`#${number}${together ? ' (concurrent)' : ''} ${request.shown}${sent} ${key} as ${who(call.as)} → ${describeAnswer(answer)}`);
    return answer;
  }

  /**
   * `?wait=true` answered 202: the checkout had not settled within its wait. Slow is allowed (the
   * machine may be loaded): read the order until it leaves PLACED, for as long as a saga may take.
   * The answer becomes the settled order, or stays 202 with a note that the order is stuck.
   */
  private async afterCheckoutWait(orderId: string, placed: Answer): Promise<Answer> {
    this.stats.count('slowCheckouts');
    let read = await this.readOrder(orderId);
    const until = Date.now() + CHECKOUT_WAIT_MS;
    for (let pause = 50; read.body?.status === 'PLACED' && Date.now() < until; pause = Math.min(pause * 2, 500)) {
      await new Promise((resolve) => setTimeout(resolve, pause));
      read = await this.readOrder(orderId);
    }
    if (read.status === 200 && read.body?.status !== 'PLACED') return { ...read, note: 'settled after the wait' };
    return { ...placed, note: `still PLACED ${CHECKOUT_WAIT_MS / 1000} s after its checkout was placed` };
  }

  private admin(): ApiClient {
    return apiFor(this.env.baseUrl);
  }

  private async readOrder(orderId: string): Promise<Answer> {
    return answerOf(await this.admin().GET('/orders/{orderId}', { params: { path: { orderId }, query: { consistency: 'strong' } } }));
  }

  /** Reads one order, product or wallet and compares it with the model; throws on a difference. */
  async inspect(state: ModelState, what: 'order' | 'stock' | 'account', pick: number): Promise<void> {
    this.stats.count('inspections');
    const why = await this.inspectOne(state, what, pick);
    if (why) throw this.failure(why);
  }

  private async inspectOne(state: ModelState, what: 'order' | 'stock' | 'account', pick: number): Promise<string | undefined> {
    if (what === 'order') {
      const orderId = state.orderIds[pick % state.orderIds.length]!;
      return this.described(`order ${orderId}`, orderReadMismatch(state, orderId, await this.readOrder(orderId)));
    }
    if (what === 'stock') {
      const { productId } = this.setup.products[pick % this.setup.products.length]!;
      return this.described(
        `stock of ${productId}`,
        stockReadMismatch(state, productId, answerOf(await this.admin().GET('/inventory/{productId}', { params: { path: { productId } } }))),
      );
    }
    const customerId = this.setup.customers[pick % this.setup.customers.length]!;
    return this.described(
      `account ${customerId}`,
      accountReadMismatch(
        state,
        customerId,
        answerOf(await this.admin().GET('/accounts/{customerId}', { params: { path: { customerId }, query: { consistency: 'strong' } } })),
      ),
    );
  }

  private described(what: string, why: string | undefined): string | undefined {
    if (why === undefined) return undefined;
    this.transcript.push(`read ${what} → ${why}`);
    return `${what}: ${why}`;
  }

  /**
   * After a run: every order, product and wallet reads as the model says; no order is stuck PLACED
   * and every open order's actor still decides a command (a refused one, with a fresh key); the
   * invariant checker passes on the run's streams.
   */
  async verify(state: ModelState): Promise<void> {
    const problems: string[] = [];
    for (const [i, orderId] of state.orderIds.entries()) {
      const read = await this.inspectOne(state, 'order', i);
      if (read) problems.push(read);
      const probe: Call = {
        target: { kind: 'order', orderId },
        op: { type: 'AddItem', productId: this.setup.products[0]!.productId, quantity: 0 },
        key: `probe-${randomUUID()}`,
        as: ADMIN,
      };
      this.requestCount += 1;
      const verdict = step(state, probe, await this.send(probe, this.requestCount, false), false);
      if ('why' in verdict) problems.push(`order ${orderId} does not decide a command as its rules say: ${verdict.why}`);
    }
    const reads = [...this.setup.products.map((_, i) => ['stock', i] as const), ...this.setup.customers.map((_, i) => ['account', i] as const)];
    for (const [what, i] of reads) {
      const why = await this.inspectOne(state, what, i);
      if (why) problems.push(why);
    }
    const invariants = await this.invariants(state);
    if (invariants) problems.push(`check:invariants failed:\n${invariants}`);
    if (problems.length > 0) throw this.failure(`after the run:\n${problems.map((p) => `- ${p}`).join('\n')}`);
  }

  /** The invariant checker as `npm run check:invariants` runs it, limited to this run's streams; its report when it fails. */
  private async invariants(state: ModelState): Promise<string | undefined> {
    const productIds = this.setup.products.map((p) => p.productId);
    const filter = {
      streamIds: [
        ...state.orderIds.map((id) => `order-${id}`),
        ...productIds.flatMap((id) => [`product-${id}`, `stock-${id}`]),
        ...this.setup.customers.map((id) => `account-${id}`),
      ],
      customerIds: [...this.setup.customers],
    };
    const snapshot = await this.env.pool.connect();
    try {
      await snapshot.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const results = await runInvariants({
        db: snapshot,
        freshDb: this.env.pool,
        client: this.env.client,
        filter,
        afterSnapshotChecks: async () => {
          await snapshot.query('COMMIT');
        },
      });
      return anyFailed(results) ? formatReport(results) : undefined;
    } finally {
      await snapshot.query('ROLLBACK').catch(() => undefined);
      snapshot.release();
    }
  }

  /** The error a run fails with: why, then the run's last requests (product ids shown by name). */
  private failure(why: string): Error {
    const names = new Map(this.setup.products.map((p, i) => [p.productId, PRODUCTS[i]!.name]));
    const readable = (text: string) => [...names].reduce((t, [id, name]) => t.replaceAll(id, name), text);
    const shown = this.transcript.slice(-TRANSCRIPT_SHOWN);
    const skipped = this.transcript.length - shown.length;
    const products = this.setup.products.map((p, i) => `${PRODUCTS[i]!.name} ${p.priceCents} cents ×${PRODUCTS[i]!.units}`).join(', ');
    return new Error(
      readable(
        `${why}\n\nrun ${this.setup.runId} (products ${products}; balances ${BALANCES.join(', ')}), its requests${skipped > 0 ? ` (the last ${shown.length})` : ''}:\n${shown.join('\n')}`,
      ),
    );
  }
}
