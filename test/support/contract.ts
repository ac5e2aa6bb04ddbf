import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020';

/*
 * Every answer the test API gives is checked against its own contract (GET /openapi.json): the
 * servers of the test harness record each answer, and when a server closes, each is matched to its
 * operation and checked for a documented status, media type, body and headers. A mismatch fails
 * the test file, so the spec cannot drift from what the routes really answer.
 */

type Json = Record<string, any>;

/** One answer as it went on the wire. */
export interface Exchange {
  method: string;
  /** The request target: path and query. */
  url: string;
  status: number;
  headers: Record<string, string | string[] | number | undefined> | Headers;
  /** The body as received (a Buffer or text), or already parsed (JSON) by the caller. */
  body: unknown;
}

/** Headers the contract names on answers: an answer carrying one must be documented with it. */
const DOCUMENTED_HEADERS = [
  'etag',
  'location',
  'retry-after',
  'preference-applied',
  'www-authenticate',
  'x-request-id',
  'ratelimit-policy',
  'ratelimit-limit',
  'ratelimit-remaining',
  'ratelimit-reset',
];
const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

const headerOf = (headers: Exchange['headers'], name: string): string | undefined => {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const value = headers[name.toLowerCase()];
  return value === undefined ? undefined : String(value);
};

export class Contract {
  private readonly ajv = new Ajv2020({ strict: true, allErrors: true });
  private readonly compiled = new Map<string, ValidateFunction>();
  /** Path templates as patterns, the most literal first so `/x/{id}` does not shadow `/x/literal`. */
  private readonly templates: Array<{ template: string; pattern: RegExp }>;

  constructor(readonly spec: Json) {
    this.templates = Object.keys(spec.paths as Json)
      .map((template) => ({
        template,
        literal: template.split('/').filter((s) => s && !s.startsWith('{')).length,
        pattern: new RegExp(`^${template.replace(/\{\w+\}/g, '[^/]+').replace(/[.]/g, '\\.')}$`),
      }))
      .sort((a, b) => b.literal - a.literal);
  }

  /** The operation that serves `method url`, as `{ key: 'GET /orders/{orderId}', operation }`, if any. */
  operationOf(method: string, url: string): { key: string; operation: Json } | undefined {
    const path = new URL(`http://server${url}`).pathname; // as the server sees it: `/a/../b` is `/b`
    const verb = method.toLowerCase() === 'head' ? 'get' : method.toLowerCase();
    for (const { template, pattern } of this.templates) {
      const operation = pattern.test(path) ? this.spec.paths[template]?.[verb] : undefined;
      if (operation) return { key: `${method.toUpperCase()} ${template}`, operation };
    }
    return undefined;
  }

  /** The schema with the document's `$ref`s replaced by what they name, so ajv compiles it alone. */
  inlined(schema: unknown): unknown {
    if (Array.isArray(schema)) return schema.map((s) => this.inlined(s));
    if (schema === null || typeof schema !== 'object') return schema;
    const ref = (schema as Json).$ref;
    if (typeof ref === 'string') {
      const target = ref
        .replace(/^#\//, '')
        .split('/')
        .reduce<Json | undefined>((at, key) => at?.[key], this.spec);
      if (target === undefined) throw new Error(`unresolved $ref ${ref}`);
      return this.inlined(target);
    }
    return Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, this.inlined(v)]));
  }

  /** Compiles a schema of the document once: operations share most of theirs. */
  compile(schema: unknown): ValidateFunction {
    const text = JSON.stringify(this.inlined(schema));
    let validate = this.compiled.get(text);
    if (!validate) this.compiled.set(text, (validate = this.ajv.compile(JSON.parse(text) as object)));
    return validate;
  }

  /** What is wrong with this answer by the contract; empty when it is one the contract documents. */
  violationsOf(exchange: Exchange): string[] {
    const { method, url, status, headers } = exchange;
    const at = `${method} ${url.slice(0, 200)} → ${status}`;
    const found = this.operationOf(method, url);
    const mediaType = (headerOf(headers, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    const body = this.bodyOf(exchange, mediaType);
    const hasBody = method.toUpperCase() !== 'HEAD' && body !== undefined && body !== '';
    if (!found) {
      // No operation: what the app answers outside the contract is a problem (401 before 404 under guarded paths, 404 elsewhere).
      if (status < 400 || mediaType !== 'application/problem+json') return [`${at}: no operation in the contract, and not a problem (${mediaType})`];
      return hasBody ? this.problemViolations(at, body, this.spec.components.schemas.Problem) : [];
    }
    const response = found.operation.responses[String(status)] as Json | undefined;
    if (!response) return [`${at}: ${found.key} documents no ${status} (body ${JSON.stringify(body)?.slice(0, 300)})`];
    const violations: string[] = [];
    const undocumented = DOCUMENTED_HEADERS.filter(
      (h) => headerOf(headers, h) !== undefined && !Object.keys(response.headers ?? {}).some((d) => d.toLowerCase() === h),
    );
    if (undocumented.length > 0) violations.push(`${at}: headers ${undocumented.join(', ')} are not documented on ${found.key} ${status}`);
    if (!hasBody && !response.content) return violations;
    const content = response.content?.[mediaType] as Json | undefined;
    if (!content) return [...violations, `${at}: ${found.key} ${status} documents no ${mediaType || 'missing'} content type`];
    if (!hasBody || !isJson(mediaType)) return violations;
    if (mediaType === 'application/problem+json') return [...violations, ...this.problemViolations(at, body, content.schema)];
    const validate = this.compile(content.schema);
    if (!validate(body))
      violations.push(`${at}: body ${JSON.stringify(body).slice(0, 300)} does not match ${found.key} ${status}: ${this.ajv.errorsText(validate.errors)}`);
    return violations;
  }

  private problemViolations(at: string, body: unknown, schema: unknown): string[] {
    const validate = this.compile(schema);
    if (!validate(body)) return [`${at}: problem ${JSON.stringify(body).slice(0, 300)} does not match: ${this.ajv.errorsText(validate.errors)}`];
    const { code, type, title } = body as { code: string; type: string; title: string };
    const catalogued = (this.spec['x-problem-types'] as Record<string, { type: string; title: string }>)[code];
    if (!catalogued || catalogued.type !== type || catalogued.title !== title)
      return [`${at}: problem ${code} has type ${type}, title ${title}: not the catalog's`];
    return [];
  }

  private bodyOf(exchange: Exchange, mediaType: string): unknown {
    const { body } = exchange;
    const text = Buffer.isBuffer(body) ? body.toString('utf8') : body;
    if (typeof text !== 'string' || !isJson(mediaType) || text === '') return text;
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
}

const isJson = (mediaType: string) => mediaType === 'application/json' || mediaType.endsWith('+json');

/** Every operation of the contract, as `{ method, path, operation }`. */
export function operationsOf(spec: Json): Array<{ method: (typeof METHODS)[number]; path: string; operation: Json }> {
  return Object.entries(spec.paths as Json).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((method) => ({ method, path, operation: item[method] })),
  );
}

/**
 * A server's request listener that records every answer it gives, with the violations of the
 * contract, read from the app itself when the server closes.
 */
export function recordingAnswers(app: RequestListener): { listener: RequestListener; answers: Exchange[] } {
  const answers: Exchange[] = [];
  const listener: RequestListener = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    const keep = (chunk: unknown, encoding?: unknown) => {
      if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
      chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8'));
    };
    const { write, end } = res;
    res.write = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
      keep(chunk, rest[0]);
      return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
    } as ServerResponse['write'];
    res.end = function (this: ServerResponse, chunk?: unknown, ...rest: unknown[]) {
      keep(chunk, rest[0]);
      return (end as (...a: unknown[]) => ServerResponse).call(this, chunk, ...rest);
    } as ServerResponse['end'];
    // Only answers that went out whole: one cut off by a client that left was never an answer.
    res.on('finish', () =>
      answers.push({ method: req.method ?? 'GET', url: req.url ?? '/', status: res.statusCode, headers: res.getHeaders(), body: Buffer.concat(chunks) }),
    );
    app(req, res);
  };
  return { listener, answers };
}

/** Checks recorded answers against the contract the app serves at `baseUrl`; throws with every violation. */
export async function expectAnswersInContract(baseUrl: string, answers: Exchange[]): Promise<void> {
  if (answers.length === 0) return;
  const res = await fetch(`${baseUrl}/openapi.json`);
  if (res.status !== 200) throw new Error(`GET /openapi.json answered ${res.status}`);
  const contract = new Contract((await res.json()) as Json);
  const violations = [...new Set(answers.flatMap((answer) => contract.violationsOf(answer)))];
  if (violations.length > 0) throw new Error(`${violations.length} answers outside the contract:\n${violations.slice(0, 30).join('\n')}`);
}
