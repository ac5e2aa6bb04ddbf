import { randomUUID } from 'node:crypto';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import { NativeConnection, type Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../../src/activities';
import { createApp } from '../../src/api/app';
import type { RateLimitSettings } from '../../src/api/rateLimit';
import { signToken, type Principal } from '../../src/auth/tokens';
import type { OrderActorSettings } from '../../src/api/orderGateway';
import { createPool, type Pool } from '../../src/db/pool';
import { productDecider, productStreamId } from '../../src/domain/product';
import { createLogger } from '../../src/logger';
import type { Projection } from '../../src/projections';
import { connectClient } from '../../src/temporal';
import { handleCommand } from '../../src/application/handleCommand';
import { apiClient, type ApiClient } from '../../src/client';
import { createOrderWorker } from '../../src/worker';
import { expectAnswersInContract, recordingAnswers } from './contract';

/** What global setup started for this run. */
export const testEnv = {
  get databaseUrl(): string {
    return required('DATABASE_URL');
  },
  get temporalAddress(): string {
    return required('TEMPORAL_ADDRESS');
  },
  get taskQueue(): string {
    return required('TEST_TASK_QUEUE');
  },
  get workflowBundle(): string {
    return required('TEST_WORKFLOW_BUNDLE');
  },
};

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run tests through jest so global setup runs`);
  return value;
}

export function testPool(max = 10): Pool {
  return createPool(testEnv.databaseUrl, max);
}

export function testClient(): Promise<Client> {
  return connectClient(testEnv.temporalAddress, 'default');
}

/** What a test file that runs its own workers needs: a client, a pool and a worker connection. */
export interface WorkerConnections {
  client: Client;
  pool: Pool;
  connection: NativeConnection;
}

/**
 * A worker of a test's own, built as production builds it (`createOrderWorker`: the tracing
 * interceptors and the span sink they report to), on the run's workflow bundle unless given
 * another, with the real activities except those `replaced`.
 */
export function createTestWorker(
  deps: { connection: NativeConnection; pool: Pool },
  options: {
    taskQueue: string;
    replaced?: Partial<ReturnType<typeof createActivities>>;
    workflowBundle?: WorkerOptions['workflowBundle'];
    maxCachedWorkflows?: number;
  },
): Promise<Worker> {
  return createOrderWorker({
    connection: deps.connection,
    namespace: 'default',
    taskQueue: options.taskQueue,
    db: deps.pool,
    maxCachedWorkflows: options.maxCachedWorkflows,
    workflowBundle: options.workflowBundle ?? { codePath: testEnv.workflowBundle },
    activities: { ...createActivities(deps.pool), ...options.replaced },
  });
}

/** Opens the file's WorkerConnections before its tests (handing them to `take`) and closes them after. */
export function useWorkerConnections(take: (opened: WorkerConnections) => void): void {
  let opened: WorkerConnections | undefined;
  beforeAll(async () => {
    opened = { client: await testClient(), pool: testPool(), connection: await NativeConnection.connect({ address: testEnv.temporalAddress }) };
    take(opened);
  });
  afterAll(async () => {
    await opened?.connection.close();
    await opened?.client.connection.close();
    await opened?.pool.end();
  });
}

export const uniqueId = (prefix: string): string => `${prefix}-${randomUUID()}`;

/** The test API's token secret: tests sign real tokens with it, exactly as `npm run token` does. */
export const TEST_AUTH_SECRET = 'test-only-secret-0123456789abcdef0123456789';
export const ADMIN: Principal = { sub: 'test-admin', role: 'admin' };
export const customer = (customerId: string): Principal => ({ sub: customerId, role: 'customer' });
export const tokenFor = (principal: Principal): Promise<string> => signToken(TEST_AUTH_SECRET, principal);
/** High enough that only the rate-limit tests meet the limit. */
const GENEROUS_RATE_LIMIT: RateLimitSettings = { perSecond: 100_000, burst: 100_000 };

export interface TestApi {
  baseUrl: string;
  close(): Promise<void>;
}

/** The real express app on a real port, talking to the run's Temporal server and Postgres. */
export async function startTestApi(deps: {
  client: Client;
  pool: Pool;
  actors?: Partial<OrderActorSettings>;
  readWaitMs?: number;
  projections?: readonly Projection[];
  rateLimit?: RateLimitSettings;
}): Promise<TestApi> {
  const app = createApp({
    db: deps.pool,
    client: deps.client,
    namespace: 'default',
    actors: { taskQueue: testEnv.taskQueue, cartTtlMs: 30 * 60_000, historyLimit: 2000, ...deps.actors },
    logger: createLogger('silent'),
    readWaitMs: deps.readWaitMs,
    projections: deps.projections,
    auth: { secret: TEST_AUTH_SECRET, rateLimit: deps.rateLimit ?? GENEROUS_RATE_LIMIT },
  });
  return serveChecked(app);
}

/**
 * Serves `app` on a free port, recording every answer; `close` checks them all against the contract
 * the app serves (test/support/contract.ts) and throws if any is outside it, failing the file.
 * `cutConnections`: close keep-alive connections too, instead of waiting for their requests.
 */
export async function serveChecked(app: RequestListener, options: { cutConnections?: boolean } = {}): Promise<TestApi> {
  const { listener, answers } = recordingAnswers(app);
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    baseUrl,
    close: async () => {
      const recorded = answers.splice(0);
      try {
        await expectAnswersInContract(baseUrl, recorded);
      } finally {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          if (options.cutConnections) server.closeAllConnections();
        });
      }
    },
  };
}

/** A catalog product, created through the same command handler the API uses. */
export async function createProduct(pool: Pool, name: string, priceCents: number): Promise<string> {
  const productId = randomUUID();
  await handleCommand(
    pool,
    productDecider,
    { id: productStreamId(productId), type: 'product' },
    {
      type: 'CreateProduct',
      productId,
      name,
      description: '',
      priceCents,
    },
    { newEventId: randomUUID, now: () => new Date() },
  );
  return productId;
}

/** Who a test request is from: a principal (its real bearer token), or 'anonymous' (no token). */
export type Caller = Principal | 'anonymous';

/**
 * The typed client (src/client) of the API at `baseUrl`, carrying a real bearer token: the admin's
 * unless `as` names another caller. Paths, parameters and bodies are checked against the contract
 * at compile time; every answer is still checked against the contract at run time by the server
 * (serveChecked), as for any request.
 */
export function apiFor(baseUrl: string, as: Caller = ADMIN): ApiClient {
  const api = apiClient(baseUrl);
  if (as !== 'anonymous') {
    api.use({
      async onRequest({ request }) {
        if (!request.headers.has('authorization')) request.headers.set('authorization', `Bearer ${await tokenFor(as)}`);
        return request;
      },
    });
  }
  return api;
}

/** An answer of the raw helper: status, headers and the body parsed as JSON (else its text). */
export interface RawAnswer {
  status: number;
  headers: Headers;
  body: any;
}

/**
 * A request the contract does not accept, and so the typed client cannot send: malformed JSON, a
 * wrong content type, unknown or mistyped fields, hostile ids in the path, a broken or missing token,
 * an unknown route or method. Everything the contract accepts goes through `apiFor` instead.
 * It carries a real bearer token like `apiFor`, unless `as` is 'anonymous' or the headers set their own.
 */
export async function rawHttp(
  baseUrl: string,
  method: string,
  path: string,
  options: { body?: unknown; rawBody?: string; headers?: Record<string, string>; as?: Caller } = {},
): Promise<RawAnswer> {
  const headers: Record<string, string> = { ...options.headers };
  const as = options.as ?? ADMIN;
  if (as !== 'anonymous' && !Object.keys(headers).some((h) => h.toLowerCase() === 'authorization')) {
    headers.authorization = `Bearer ${await tokenFor(as)}`;
  }
  let body: string | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
    headers['content-type'] = 'application/json';
  }
  const response = await fetch(`${baseUrl}${path}`, { method, headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text so the assertion shows it
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

/** What the typed client answers: the contract types `error` (a problem) for every refusal. */
interface TypedAnswer {
  response: Response;
  error?: unknown;
}

/** A typed answer as a plain object to assert on whole, so a failure shows a short diff: its status and body (data, or the problem). */
export function statusAndBody(res: TypedAnswer & { data?: unknown }): { status: number; body: unknown } {
  return { status: res.response.status, body: res.data ?? res.error };
}

/** A problem+json answer with this status and stable code, from the typed client or the raw helper. */
export function expectProblem(res: TypedAnswer | RawAnswer, status: number, code: string): void {
  const [answerStatus, headers, problem] = 'response' in res ? [res.response.status, res.response.headers, res.error] : [res.status, res.headers, res.body];
  expect({ status: answerStatus, code: (problem as { code?: unknown } | undefined)?.code }).toEqual({ status, code });
  expect(headers.get('content-type')).toMatch(/^application\/problem\+json/);
}

/**
 * The command id a 202 answer carries (a queued command, or a checkout whose wait ran out): what the
 * client sends again as the Idempotency-Key to ask after it. Throws if the answer carries none.
 */
export function commandIdOf(res: { data?: object }): string {
  if (res.data && 'commandId' in res.data && typeof res.data.commandId === 'string') return res.data.commandId;
  throw new Error(`no commandId in ${JSON.stringify(res.data)}`);
}

/** The order version a command's answer reports (the next If-Match). Throws if it has none (a command queued, not yet decided). */
export function versionAfter(res: { data?: object }): number {
  if (res.data && 'version' in res.data && typeof res.data.version === 'number') return res.data.version;
  throw new Error(`no version in ${JSON.stringify(res.data)}`);
}

export type RawCall = (method: string, path: string, options?: Parameters<typeof rawHttp>[3]) => Promise<RawAnswer>;

export interface ApiFixture {
  client: Client;
  pool: Pool;
  api: TestApi;
  /** The typed client of this file's API, as the admin. */
  readonly admin: ApiClient;
  /** The typed client of this file's API, as `caller`. */
  as(caller: Caller): ApiClient;
  /** A request to this file's API that the contract does not accept (see `rawHttp`). */
  rawCall: RawCall;
}

/** One test file's client, pool and real API: opened before its tests, closed after them. */
export function useTestApi(options: { poolSize?: number; actors?: Partial<OrderActorSettings> } = {}): ApiFixture {
  const fixture = {
    get admin() {
      return apiFor(fixture.api.baseUrl);
    },
    as: (caller) => apiFor(fixture.api.baseUrl, caller),
    rawCall: (method, path, callOptions) => rawHttp(fixture.api.baseUrl, method, path, callOptions),
  } as ApiFixture;
  beforeAll(async () => {
    fixture.client = await testClient();
    fixture.pool = testPool(options.poolSize);
    fixture.api = await startTestApi({ client: fixture.client, pool: fixture.pool, actors: options.actors });
  });
  afterAll(async () => {
    await fixture.api?.close();
    await fixture.client?.connection.close();
    await fixture.pool?.end();
  });
  return fixture;
}
