import { apiClient, type ApiClient } from '../src/client';

/** What the API answered to one HTTP attempt, as the chaos report needs it. */
export interface Observation {
  at: number;
  /** The method and route, without ids: `POST /orders/{orderId}/checkout`. */
  route: string;
  /** An HTTP status, or `network` (refused, reset) or `timeout` (no answer within the attempt's limit). */
  status: number | 'network' | 'timeout';
  code?: string;
  retryAfter?: string;
  /** Which API process (index into the client's base URLs) the attempt went to. */
  api: number;
  /** 1 for a request's first attempt, 2 for its first retry, ... */
  attempt: number;
  /** The attempt went to another API than the one before, which had refused or cut the connection. */
  failedOver: boolean;
}

/** What one attempt adds to a call: the caller's token and Idempotency-Key, and its time limit. */
export interface AttemptInit {
  headers: Record<string, string>;
  signal: AbortSignal;
}

/**
 * One call of the typed client, made once per attempt with that attempt's `init`:
 * `(api, init) => api.POST('/orders/{orderId}/items', { ...init, params: { path: { orderId } }, body })`.
 */
export type Call<D, E> = (api: ApiClient, init: AttemptInit) => Promise<{ data?: D; error?: E; response: Response }>;

/** A final answer: its status, and the body as the contract types it (`data` on success, `error` otherwise). */
export interface Answer<D, E> {
  status: number;
  data?: D;
  error?: E;
}

interface Attempted<D, E> {
  observation: Observation;
  answer?: Answer<D, E>;
}

export interface RequestOptions {
  token: string;
  /** Sent as Idempotency-Key on every attempt: the retries are the same command. */
  key?: string;
  /** The route for the report: `POST /orders/{orderId}/items`, or a probe's own label. */
  route: string;
  /** The API process to try first (index into the base URLs, modulo their number): spreads the load. */
  api?: number;
}

/**
 * 429 and every 5xx, not only 503: a client holding an Idempotency-Key can safely retry a 500 too,
 * and the run should measure what the service does after it. The report still counts each 5xx
 * other than 503 as a bad answer.
 */
const isRetried = (status: number) => status === 429 || status >= 500;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A patient client: it retries network errors, timeouts, 5xx and 429 with the same Idempotency-Key,
 * waiting as long as Retry-After says (else a short backoff), until an answer is final or
 * `giveUpAfterMs` has passed. With several API processes, a refused or cut connection sends the
 * next attempt to the next one, as a load balancer would. Every attempt is reported to `observe`.
 * Requests go through the client typed by the API's contract (src/client).
 */
export class PatientClient {
  private readonly apis: ApiClient[];

  constructor(
    baseUrls: readonly string[],
    private readonly observe: (o: Observation) => void,
    private readonly options: { attemptTimeoutMs: number; giveUpAfterMs: number },
  ) {
    this.apis = baseUrls.map((url) => apiClient(url));
  }

  async request<D, E>(options: RequestOptions, call: Call<D, E>): Promise<Answer<D, E>> {
    const giveUpAt = Date.now() + this.options.giveUpAfterMs;
    let api = (options.api ?? 0) % this.apis.length;
    let failedOver = false;
    for (let attempt = 1; ; attempt++) {
      const { observation, answer }: Attempted<D, E> = await this.attempt({ ...options, api }, call, { attempt, failedOver });
      if (answer && !isRetried(answer.status)) return answer;
      failedOver = observation.status === 'network' && this.apis.length > 1;
      if (failedOver) api = (api + 1) % this.apis.length;
      const retryAfter = Number(observation.retryAfter ?? NaN);
      // A failover goes at once, as a load balancer's would: the other API has not refused anything.
      const waitMs = failedOver ? 0 : Number.isFinite(retryAfter) ? retryAfter * 1000 : Math.min(2000, 100 * 2 ** attempt);
      if (Date.now() + waitMs > giveUpAt) throw new Error(`${observation.route} (key ${options.key ?? 'none'}) had no final answer after ${attempt} attempts`);
      await sleep(waitMs);
    }
  }

  /** One attempt, no retry: what a probe wants. */
  async attempt<D, E>(
    options: RequestOptions,
    call: Call<D, E>,
    retry: { attempt: number; failedOver: boolean } = { attempt: 1, failedOver: false },
  ): Promise<Attempted<D, E>> {
    const api = (options.api ?? 0) % this.apis.length;
    const sent = { route: options.route, api, ...retry };
    const headers: Record<string, string> = { authorization: `Bearer ${options.token}` };
    if (options.key) headers['idempotency-key'] = options.key;
    let observation: Observation;
    let answer: Answer<D, E> | undefined;
    try {
      const { data, error, response } = await call(this.apis[api]!, { headers, signal: AbortSignal.timeout(this.options.attemptTimeoutMs) });
      answer = { status: response.status, data, error };
      const code = (error as { code?: unknown } | undefined)?.code;
      observation = {
        ...sent,
        at: Date.now(),
        status: response.status,
        code: typeof code === 'string' ? code : undefined,
        retryAfter: response.headers.get('retry-after') ?? undefined,
      };
    } catch (err) {
      observation = { ...sent, at: Date.now(), status: (err as Error).name === 'TimeoutError' ? 'timeout' : 'network' };
    }
    this.observe(observation);
    return { observation, answer };
  }
}
