/** What the API answered to one HTTP attempt, as the chaos report needs it. */
export interface Observation {
  at: number;
  /** The method and route, without ids: `POST /orders/:id/checkout`. */
  route: string;
  /** An HTTP status, or `network` (refused, reset) or `timeout` (no answer within the attempt's limit). */
  status: number | 'network' | 'timeout';
  code?: string;
  retryAfter?: string;
}

export interface Answer {
  status: number;
  body: any;
}

export interface RequestOptions {
  token: string;
  /** Sent as Idempotency-Key on every attempt: the retries are the same command. */
  key?: string;
  body?: unknown;
  /** A shape of the route for the report (ids removed); defaults to the path. */
  route?: string;
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
 * `giveUpAfterMs` has passed. Every attempt is reported to `observe`.
 */
export class PatientClient {
  constructor(
    private readonly baseUrl: string,
    private readonly observe: (o: Observation) => void,
    private readonly options: { attemptTimeoutMs: number; giveUpAfterMs: number },
  ) {}

  async request(method: string, path: string, options: RequestOptions): Promise<Answer> {
    const giveUpAt = Date.now() + this.options.giveUpAfterMs;
    for (let attempt = 1; ; attempt++) {
      const { observation, answer } = await this.attempt(method, path, options);
      if (answer && !isRetried(answer.status)) return answer;
      const retryAfter = Number(observation.retryAfter ?? NaN);
      const waitMs = Number.isFinite(retryAfter) ? retryAfter * 1000 : Math.min(2000, 100 * 2 ** attempt);
      if (Date.now() + waitMs > giveUpAt) throw new Error(`${observation.route} (key ${options.key ?? 'none'}) had no final answer after ${attempt} attempts`);
      await sleep(waitMs);
    }
  }

  /** One attempt, no retry: what a probe wants. */
  async attempt(method: string, path: string, options: RequestOptions): Promise<{ observation: Observation; answer?: Answer }> {
    const headers: Record<string, string> = { authorization: `Bearer ${options.token}` };
    if (options.key) headers['idempotency-key'] = options.key;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const route = `${method} ${options.route ?? path}`;
    let observation: Observation;
    let answer: Answer | undefined;
    try {
      const response = await fetch(`${this.baseUrl}${path}`, { method, headers, body, signal: AbortSignal.timeout(this.options.attemptTimeoutMs) });
      const text = await response.text();
      answer = { status: response.status, body: text ? parseJson(text) : undefined };
      observation = { at: Date.now(), route, status: response.status, code: answer.body?.code, retryAfter: response.headers.get('retry-after') ?? undefined };
    } catch (err) {
      observation = { at: Date.now(), route, status: (err as Error).name === 'TimeoutError' ? 'timeout' : 'network' };
    }
    this.observe(observation);
    return { observation, answer };
  }
}

function parseJson(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return { text };
  }
}
