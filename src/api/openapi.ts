import { STATUS_CODES } from 'node:http';
import type { RequestHandler } from 'express';
import { z } from 'zod';
import { idSchema } from '../workflows/orderContract';
import { adminOnly, signedIn } from './access';
import { PROBLEM_TITLES, problemTypeOf, type ProblemCode } from './problem';
import { problemsOf, type Answer, type AnswerHeader, type RequestHeader, type Route, type RouteContract, type RouteTable } from './routes';

/*
 * The API's OpenAPI 3.1 contract, built from the route tables: each route's contract names the zod
 * schemas its handler parses with, and zod's own JSON Schema output (draft 2020-12, the dialect of
 * OpenAPI 3.1) turns them into the document. No second description to keep in step by hand.
 */

type JsonSchema = Record<string, unknown>;
type AnyRouteTable = RouteTable<never>;
type Problems = RouteContract['problems'];

/** How the app mounts the tables: the open ones before authentication and the body parser, the rest after. */
export interface MountedTables {
  open: readonly AnyRouteTable[];
  guarded: readonly AnyRouteTable[];
}

/** What the app's middleware answers on any guarded route: a bad token, the rate limit, an unreadable body, the database. */
const MIDDLEWARE_PROBLEMS: Problems = {
  400: ['MALFORMED_JSON', 'BAD_REQUEST'],
  401: ['INVALID_TOKEN', 'TOKEN_EXPIRED'],
  413: ['PAYLOAD_TOO_LARGE'],
  415: ['UNSUPPORTED_MEDIA_TYPE'],
  429: ['RATE_LIMITED'],
  500: ['INTERNAL_ERROR'],
  503: ['DATABASE_UNAVAILABLE', 'IDENTITY_PROVIDER_UNAVAILABLE'],
};

/** Sent on every answer; a request may bring its own (a proxy's, say). */
const REQUEST_ID = {
  name: 'X-Request-Id',
  description: 'Echoed on the answer and logged with the request, if 1 to 128 letters, digits or . _ : = + / -; otherwise a fresh UUID is used.',
};

const REQUEST_HEADERS: Record<RequestHeader, { description: string; schema: JsonSchema; problems?: Problems }> = {
  'If-Match': {
    description: 'The order version (its ETag, such as "3") the command must apply to; another version is 412 VERSION_MISMATCH.',
    schema: { type: 'string', examples: ['"3"'] },
    problems: { 400: ['INVALID_IF_MATCH'] },
  },
  'Idempotency-Key': {
    description: 'The command id: a retry with the same key gets the same answer and is applied once.',
    schema: jsonSchemaOf(idSchema),
    problems: { 400: ['INVALID_IDEMPOTENCY_KEY'], 422: ['IDEMPOTENCY_KEY_REUSED'] },
  },
  Prefer: {
    description: '`respond-async` (RFC 7240): queue the command and answer 202 at once.',
    schema: { type: 'string', examples: ['respond-async'] },
  },
};

/** What the rate limit (src/api/rateLimit.ts) tells every caller of a guarded route, on every answer. */
const RATE_LIMIT_HEADERS = ['RateLimit-Policy', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset'] as const;

const ANSWER_HEADERS: Record<AnswerHeader | 'Retry-After' | 'WWW-Authenticate' | 'X-Request-Id' | (typeof RATE_LIMIT_HEADERS)[number], string> = {
  'X-Request-Id': 'The request id: the one sent, if sane, or a fresh UUID. The access log line carries it.',
  ETag: 'The version of the resource, such as "3": send it back as If-Match.',
  Location: 'Where the created resource, or the queued command’s status, is.',
  'Preference-Applied': '`respond-async` when the command was queued.',
  'Retry-After': 'Seconds to wait before retrying.',
  'WWW-Authenticate': 'The bearer challenge (RFC 6750).',
  'RateLimit-Policy': "The caller's budget: `<burst>;w=<seconds to refill it>`, shared by every API process.",
  'RateLimit-Limit': 'Requests the caller may make at once (the burst).',
  'RateLimit-Remaining': 'Requests the caller has left now.',
  'RateLimit-Reset': "Seconds until the caller's budget is full again.",
};

/** Statuses whose problems say when to come back. */
const RETRY_STATUSES = new Set([429, 503, 504]);

const problemSchema = z
  .object({
    type: z.string().describe('The problem type: one URI per `code` (see x-problem-types), or about:blank.'),
    title: z.string().describe('The summary of the problem type.'),
    status: z.number().int(),
    code: z.string().describe('The stable code a client acts on.'),
    detail: z.string().describe('What went wrong this time.'),
    errors: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .describe('With VALIDATION_FAILED: each invalid field.'),
  })
  .describe('An RFC 9457 problem document.');

/** A request schema as what it accepts (`input`: defaults optional), an answer's as what it produces (`output`). */
function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output' = 'input'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, target: 'draft-2020-12' });
  return rest;
}

/** `/orders/:orderId` → `/orders/{orderId}`. */
export const openApiPathOf = (expressPath: string): string => expressPath.replace(/:(\w+)/g, '{$1}');

function guardsOf(table: AnyRouteTable, route: Route<never>): RequestHandler[] {
  const tableGuard = table.guard && table.guard.paths.some((p) => route.path === p || route.path.startsWith(`${p}/`)) ? [table.guard.by] : [];
  return [...tableGuard, ...(route.guard ? [route.guard] : [])];
}

/** Who may call: `undefined` when anyone may (a valid token is still checked if sent). */
function rolesOf(guards: RequestHandler[]): Array<'customer' | 'admin'> | undefined {
  if (guards.includes(adminOnly)) return ['admin'];
  if (guards.includes(signedIn)) return ['customer', 'admin'];
  return undefined;
}

function parametersOf(route: Route<never>): JsonSchema[] {
  const { contract } = route;
  const pathNames = [...route.path.matchAll(/:(\w+)/g)].map((m) => m[1]!);
  const paramsSchema = contract.params ? (jsonSchemaOf(contract.params).properties as Record<string, JsonSchema>) : undefined;
  const path = pathNames.map((name) => ({ name, in: 'path', required: true, schema: paramsSchema?.[name] ?? jsonSchemaOf(idSchema) }));
  const query = contract.query ? jsonSchemaOf(contract.query) : undefined;
  const required = new Set((query?.required as string[] | undefined) ?? []);
  const queries = Object.entries((query?.properties as Record<string, JsonSchema> | undefined) ?? {}).map(([name, schema]) => ({
    name,
    in: 'query',
    required: required.has(name),
    ...(typeof schema.description === 'string' ? { description: schema.description } : {}),
    schema,
  }));
  const headers = (contract.headers ?? []).map((name) => ({
    name,
    in: 'header',
    required: false,
    description: REQUEST_HEADERS[name].description,
    schema: REQUEST_HEADERS[name].schema,
  }));
  const requestId = { ...REQUEST_ID, in: 'header', required: false, schema: { type: 'string', maxLength: 128 } };
  return [...path, ...queries, ...headers, requestId];
}

/** The problems a route can answer: its own, its guards', its inputs', and the middleware's in front of it. */
export function problemsOfRoute(table: AnyRouteTable, route: Route<never>, guarded: boolean): Problems {
  const { contract } = route;
  const roles = rolesOf(guardsOf(table, route));
  const validated = contract.body !== undefined || contract.query !== undefined || contract.params !== undefined;
  return problemsOf(
    guarded ? MIDDLEWARE_PROBLEMS : { 500: ['INTERNAL_ERROR'] },
    roles ? { 401: ['UNAUTHENTICATED'] } : {},
    roles && !roles.includes('customer') ? { 403: ['FORBIDDEN'] } : {},
    /:\w+/.test(route.path) && !contract.params ? { 400: ['INVALID_ID'] } : {},
    validated ? { 400: ['VALIDATION_FAILED'] } : {},
    ...(contract.headers ?? []).map((h) => REQUEST_HEADERS[h].problems ?? {}),
    contract.problems,
  );
}

function headersOf(names: ReadonlyArray<keyof typeof ANSWER_HEADERS>): JsonSchema {
  return Object.fromEntries(['X-Request-Id' as const, ...names].map((name) => [name, { description: ANSWER_HEADERS[name], schema: { type: 'string' } }]));
}

function contentOf(answer: Answer): JsonSchema | undefined {
  if (answer.body) return { 'application/json': { schema: jsonSchemaOf(answer.body, 'output') } };
  if (answer.mediaType) return Object.fromEntries([answer.mediaType].flat().map((type) => [type, { schema: { type: 'string' } }]));
  return undefined; // empty: a 304
}

function responsesOf(route: Route<never>, problems: Problems, guarded: boolean): JsonSchema {
  const responses: JsonSchema = {};
  const limitHeaders = guarded ? RATE_LIMIT_HEADERS : [];
  for (const [status, answer] of Object.entries(route.contract.answers)) {
    responses[status] = {
      description: answer!.description,
      headers: headersOf([...(answer!.headers ?? []), ...limitHeaders]),
      content: contentOf(answer!),
    };
  }
  for (const [statusText, codes] of Object.entries(problems)) {
    const status = Number(statusText);
    if (!codes || codes.length === 0) continue;
    const headerNames = [
      ...(RETRY_STATUSES.has(status) || codes.includes('CONCURRENT_UPDATE') ? (['Retry-After'] as const) : []),
      ...(status === 401 ? (['WWW-Authenticate'] as const) : []),
      ...limitHeaders,
    ];
    responses[statusText] = {
      description: `${STATUS_CODES[status] ?? 'Problem'}: ${codes.join(', ')}`,
      headers: headersOf(headerNames),
      content: {
        'application/problem+json': {
          schema: { allOf: [{ $ref: '#/components/schemas/Problem' }, { type: 'object', properties: { code: { type: 'string', enum: [...codes] } } }] },
        },
      },
    };
  }
  return responses;
}

function operationOf(table: AnyRouteTable, route: Route<never>, guarded: boolean): JsonSchema {
  const { contract } = route;
  const roles = rolesOf(guardsOf(table, route));
  const body = contract.body;
  return {
    operationId: `${route.method}${openApiPathOf(route.path)
      .split(/[^A-Za-z0-9]+/)
      .filter(Boolean)
      .map((word) => word[0]!.toUpperCase() + word.slice(1))
      .join('')}`,
    summary: contract.summary,
    tags: [route.path.split('/')[1]],
    // Open routes behind the middleware still check a token that is sent; the probes never look.
    security: roles ? [{ bearerAuth: [] }] : guarded ? [{}, { bearerAuth: [] }] : [],
    ...(roles ? { 'x-roles': roles } : {}),
    parameters: parametersOf(route),
    ...(body ? { requestBody: { required: !body.safeParse({}).success, content: { 'application/json': { schema: jsonSchemaOf(body) } } } } : {}),
    responses: responsesOf(route, problemsOfRoute(table, route, guarded), guarded),
  };
}

/** The OpenAPI 3.1 document of the routes in `tables`. */
export function openApiDocument(tables: MountedTables): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  const mounted = [...tables.open.map((table) => ({ table, guarded: false })), ...tables.guarded.map((table) => ({ table, guarded: true }))];
  for (const { table, guarded } of mounted) {
    for (const route of table.routes) (paths[openApiPathOf(route.path)] ??= {})[route.method] = operationOf(table, route, guarded);
  }
  const codes = Object.keys(PROBLEM_TITLES) as ProblemCode[];
  return {
    openapi: '3.1.0',
    info: {
      title: 'Order actors API',
      version: '0.1.0',
      description:
        'Orders are Temporal workflows; events land in Postgres. Every error is an RFC 9457 problem document with a stable `code`; each code has its own `type` URI (x-problem-types).',
    },
    paths,
    components: {
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            "A JWT from the identity provider the deployment names (RS256/ES256, checked against its JWKS, issuer and audience), or in development one this service signs (HS256). Its role is `customer` (its own orders and account) or `admin`; each operation's x-roles says which it needs.",
        },
      },
      schemas: {
        Problem: jsonSchemaOf(problemSchema),
        ProblemCode: { type: 'string', enum: codes },
      },
    },
    'x-problem-types': Object.fromEntries(codes.map((code) => [code, { type: problemTypeOf(code), title: PROBLEM_TITLES[code] }])),
  };
}

/** The document's frame; what is inside it is OpenAPI 3.1's to say. */
const openApiDocumentAnswer = z.looseObject({
  openapi: z.string(),
  info: z.looseObject({ title: z.string(), version: z.string() }),
  paths: z.record(z.string(), z.record(z.string(), z.unknown())),
  components: z.record(z.string(), z.unknown()),
});

/** `GET /openapi.json`, open to anyone. */
export const contractRoutes: RouteTable<{ document: JsonSchema }> = {
  routes: [
    {
      method: 'get',
      path: '/openapi.json',
      handle: (_req, res, { document }) => res.json(document),
      contract: {
        summary: 'This contract, OpenAPI 3.1.',
        answers: { 200: { description: 'The OpenAPI document.', body: openApiDocumentAnswer } },
        problems: {},
      },
    },
  ],
};
