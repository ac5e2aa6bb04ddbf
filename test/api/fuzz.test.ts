/*
 * Fuzzes every HTTP route with junk. The house rule: bad input gets a clear error and loses
 * nothing.
 *
 * Every command the fuzz sends is a valid command plus at least one defect (malformed JSON, a
 * wrong type, a number past 2^53, text Postgres cannot store, a bad id, a junk header, a body that
 * is not JSON, one over the 64 kB limit, a rule the actor refuses ...), so it must be refused:
 * a 4xx problem document, and no event anywhere. That makes the "loses nothing" check exact:
 * after every command the fixture streams (an order with an item, a cancelled order, a product
 * with stock, a wallet) are unchanged, and at the end no event in the whole store carries one of
 * this run's Idempotency-Keys (every fuzz command sends one; events record it as their
 * commandId). A 2xx to a command here is a finding. Reads may answer 2xx; they never write.
 *
 * Fixed seeds and modest runs: the same ~300 requests every time (every kind of defect once on
 * every command route, a few random pairs, reads, stray routes), in well under 15 s.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import fc from 'fast-check';
import type { Pool } from '../../src/db/pool';
import { signToken } from '../../src/auth/tokens';
import {
  ADMIN,
  apiFor,
  createProduct,
  customer,
  expectProblem,
  startTestApi,
  TEST_AUTH_SECRET,
  type TestApi,
  testClient,
  testPool,
  tokenFor,
} from '../support/harness';
import { Contract, operationsOf } from '../support/contract';
import { sampleAddress } from '../support/orders';
import { brokenValueOf, valueOf } from '../support/schemaArbitrary';

const RUN = `fz${randomUUID().slice(0, 8)}`;
const BODY_LIMIT_BYTES = 64 * 1024;
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
const PAIR_RUNS = 3;
/** Tokens the run signs in beforeAll (signing is asynchronous); the arbitraries read them when they generate. */
const signed = { admin: '', forged: '', expired: '', stranger: '' };
/** Every request speaks as the admin (who may do everything) unless a defect says otherwise. */
const adminAuthorization = () => `Bearer ${signed.admin}`;
/** A defect's way of sending no Authorization header at all. */
const NO_AUTHORIZATION = '';
const READ_RUNS = 5;
/** Requests per operation drawn from the contract, valid and broken each. */
const CONTRACT_RUNS = 3;

let client: Client;
let pool: Pool;
let api: TestApi;
/** The contract the API serves: every answer of the fuzz must be one it documents. */
let contract: Contract;

/** The fixtures, as path segments: every fuzz command aims at them (or at junk ids). */
const fx = { order: '', closedOrder: '', product: '', customer: '' };
let fixtureStreams: string[] = [];
let fixtureBefore = '';
let requestCount = 0;
/** Fresh order ids of refused creates: none of them may have started an actor. */
const refusedCreates = new Set<string>();

beforeAll(async () => {
  signed.admin = await tokenFor(ADMIN);
  signed.forged = await signToken(`${TEST_AUTH_SECRET}-forged`, ADMIN);
  signed.expired = await signToken(TEST_AUTH_SECRET, ADMIN, 60, Date.now() - 3_600_000);
  signed.stranger = await tokenFor(customer(`${RUN}-stranger`));
  client = await testClient();
  pool = testPool();
  api = await startTestApi({ client, pool, readWaitMs: 300 }); // drawn minVersions are mostly never reached: a short wait
  const admin = apiFor(api.baseUrl);
  contract = new Contract((await admin.GET('/openapi.json')).data!);
  /** The fixtures are made with keys of their own, so the check that no event carries a fuzz key does not count them. */
  const fixtureKey = () => ({ 'Idempotency-Key': `fixture-${RUN}-${randomUUID()}` });
  const ok = async (what: string, sent: Promise<{ response: Response; error?: unknown }>) => {
    const { response, error } = await sent;
    if (response.status >= 300) throw new Error(`fixture ${what}: ${response.status} ${JSON.stringify(error)}`);
  };
  fx.product = await createProduct(pool, 'Fuzz mug', 1250);
  fx.customer = `${RUN}-customer`;
  fx.order = `${RUN}-order`;
  fx.closedOrder = `${RUN}-closed`;
  await ok('stock', admin.POST('/products/{productId}/stock', { params: { path: { productId: fx.product }, header: fixtureKey() }, body: { quantity: 5 } }));
  await ok(
    'deposit',
    admin.POST('/accounts/{customerId}/deposits', { params: { path: { customerId: fx.customer }, header: fixtureKey() }, body: { amountCents: 5000 } }),
  );
  await ok(
    'order',
    admin.POST('/orders', { params: { header: fixtureKey() }, body: { orderId: fx.order, customerId: fx.customer, shippingAddress: sampleAddress } }),
  );
  const order = { path: { orderId: fx.order }, header: fixtureKey() };
  await ok('item', admin.POST('/orders/{orderId}/items', { params: order, body: { productId: fx.product, quantity: 1 } }));
  await ok('closed order', admin.POST('/orders', { params: { header: fixtureKey() }, body: { orderId: fx.closedOrder, customerId: fx.customer } }));
  const closing = { path: { orderId: fx.closedOrder }, header: fixtureKey() };
  await ok('cancel', admin.POST('/orders/{orderId}/cancel', { params: closing, body: { reason: 'closed for the fuzz' } }));
  await client.workflow.getHandle(`order-${fx.closedOrder}`).result();
  fixtureStreams = [`order-${fx.order}`, `order-${fx.closedOrder}`, `product-${fx.product}`, `stock-${fx.product}`, `account-${fx.customer}`];
  fixtureBefore = await fixtureSnapshot();
  expect(JSON.parse(fixtureBefore)).toHaveLength(fixtureStreams.length);
});

afterAll(async () => {
  await api.close();
  await client.connection.close();
  await pool.end();
});

/** Each fixture stream's version, event count and last global position. */
async function fixtureSnapshot(): Promise<string> {
  const { rows } = await pool.query(
    `SELECT s.stream_id, s.version::text AS version, count(e.*)::text AS events, max(e.global_position)::text AS last
       FROM streams s LEFT JOIN events e ON e.stream_id = s.stream_id
      WHERE s.stream_id = ANY($1)
      GROUP BY s.stream_id, s.version ORDER BY s.stream_id`,
    [fixtureStreams],
  );
  return JSON.stringify(rows);
}

// ---------------------------------------------------------------------------------------------
// JSON values, including text JSON.stringify cannot write (9007199254740993, 1e400, -0)

class Raw {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}
type J = Raw | null | boolean | number | string | J[] | { [key: string]: J };
const raw = (text: string) => new Raw(text);

function toJson(value: J): string {
  if (value instanceof Raw) return value.text;
  if (Array.isArray(value)) return `[${value.map(toJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value)
      .map(([k, v]) => `${JSON.stringify(k)}:${toJson(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

const wrongTypes = fc.constantFrom<J>(null, true, false, [], {}, [1, 2], { nested: { deep: [null] } });
const unsafeNumbers = fc.constantFrom<J>(
  raw('9007199254740993'),
  raw('-9007199254740993'),
  raw('1e400'),
  raw('-1e400'),
  raw('123456789012345678901234567890'),
  raw('1e300'),
  2 ** 53,
  -(2 ** 60),
);
const fractions = fc.oneof(
  fc.constantFrom<J>(1.5, -0.5, 0.1, raw('1.0000000000000002'), raw('2.5e-1')),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Number.isInteger(x)),
);
/** Not a safe whole number: the schema refuses it (400), whatever the route. */
const notAWholeNumber: fc.Arbitrary<J> = fc.oneof(
  wrongTypes,
  unsafeNumbers,
  fractions,
  fc.constantFrom<J>('1', '0', '-1', '1e3', 'NaN', 'Infinity', '', ' 2 '),
);
/** A safe whole number outside [min, max]: well-formed, refused by the rules (422). */
const outOfRange = (min: number, max: number): fc.Arbitrary<J> =>
  fc.oneof(
    fc.integer({ min: Number.MIN_SAFE_INTEGER, max: min - 1 }),
    fc.integer({ min: max + 1, max: Number.MAX_SAFE_INTEGER }),
    fc.constantFrom<J>(min - 1, max + 1, Number.MAX_SAFE_INTEGER, ...(min > 0 ? [raw('-0'), raw('1e-400')] : [])),
  );

/** Text Postgres cannot keep in jsonb: NUL, and UTF-16 surrogates without their partner. */
const unstorableText = fc.oneof(
  fc.constantFrom('\u0000', 'a\u0000b', '\ud800', 'a\udfffb', '\udbff\ud800x'),
  fc.tuple(fc.string({ maxLength: 8 }), fc.constantFrom('\u0000', '\ud800', '\udc00'), fc.string({ maxLength: 8 })).map((p) => p.join('')),
);
/** Well-formed text of 1 to max characters that is not blank: emoji, RTL, combining marks. */
const goodText = (max: number) =>
  fc.oneof(
    fc.constantFrom('Mug', 'أحمد', '山田 🙂', '\u202Eevil\u202C', "O'Brien <b>&amp;", 'e\u0301\u0301'),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: Math.min(max, 40) }).filter((s) => s.trim() !== '' && s.length <= max),
  );
/** Text a field of at most `max` characters refuses: too long, not text, unstorable, blank. */
const badText = (max: number, blankAllowed = false): fc.Arbitrary<J> =>
  fc.oneof(
    ...(blankAllowed ? [] : [fc.constantFrom<J>('', '   ', '\t\n')]),
    fc.integer({ min: max + 1, max: max + 2000 }).map((n) => 'é'.repeat(n)),
    fc.constant('🙂'.repeat(max + 1)),
    wrongTypes,
    fc.integer(),
    unstorableText,
  );
const wellFormed = (s: string): boolean => {
  try {
    encodeURIComponent(s);
    return true;
  } catch {
    return false;
  }
};
const badIdString = fc.oneof(
  fc.constantFrom('', ' ', 'has space', '-dash-first', '_under', 'a/b', '../etc/passwd', 'x'.repeat(129), 'naïve', '🙂', 'עברית', 'id\n', 'a\u0000b', '\ud800'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }).filter((s) => !ID_PATTERN.test(s)),
);
const badIdValue: fc.Arbitrary<J> = fc.oneof(badIdString, wrongTypes, fc.integer());
const hex = (length: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: length, maxLength: length });
/** A well-formed id nobody uses. */
const unknownId = hex(10).map((h) => `${RUN}-nobody-${h}`);

/** A path segment that is not an id, percent-encoded as a client would (or mangled on purpose). */
const badIdSegment = fc.oneof(
  badIdString.filter(wellFormed).map(encodeURIComponent),
  fc.constantFrom(
    '%00',
    'a%00b',
    '%2500',
    '%',
    '%ZZ',
    '%E0%A4%A',
    '%ED%A0%80', // a lone surrogate, UTF-8-encoded: not valid UTF-8
    '%C0%AF',
    '..%2F..%2Fetc%2Fpasswd',
    '..',
    '.',
    'x'.repeat(3000),
    encodeURIComponent('\u202Eevil'),
    encodeURIComponent('🙂'.repeat(70)),
  ),
);

const addressFields = ['name', 'line1', 'city', 'postalCode', 'country'] as const;
const goodAddress: fc.Arbitrary<J> = goodText(200).map((name) => ({ ...sampleAddress, name }));
const badAddress: fc.Arbitrary<J> = fc.oneof(
  wrongTypes,
  fc.constantFrom(...addressFields).map((missing) => {
    const { [missing]: _gone, ...rest } = sampleAddress;
    return rest;
  }),
  fc.record({ field: fc.constantFrom('name', 'line1'), value: badText(200) }).map(({ field, value }) => ({ ...sampleAddress, [field]: value })),
  badText(100).map((city) => ({ ...sampleAddress, city })),
  badText(20).map((postalCode) => ({ ...sampleAddress, postalCode })),
  badText(200, true).map((line2) => ({ ...sampleAddress, line2 })),
  fc.oneof(fc.constantFrom<J>('us', 'USA', 'U', '', 'ÜS', '1A', 'GB ', 'gb'), wrongTypes).map((country) => ({ ...sampleAddress, country })),
  fc.constantFrom('extra', '__proto__', 'commandId').map((key) => ({ ...sampleAddress, [key]: 'x' })),
);

// ---------------------------------------------------------------------------------------------
// Requests: a route's valid command, then defects that each guarantee a refusal

interface Draft {
  method: string;
  ids: Record<string, string>;
  query: string;
  headers: Record<string, string>;
  /** The JSON body as fields; `bodyText` replaces it. */
  fields?: Record<string, J>;
  bodyText?: string;
  /** undefined: application/json; null: no Content-Type at all. */
  contentType?: string | null;
  /** Send a body even where the route takes none (for a Content-Type defect). */
  needsBody?: boolean;
  freshOrderId?: string;
  /** Drawn from the contract: a 5xx it documents (504 READ_MODEL_BEHIND for a version never reached) is an answer; only a 500 is a finding. */
  fromContract?: boolean;
}

interface Defect {
  label: string;
  /** Refused before the actor sees it, so also with `Prefer: respond-async` (which the actor answers later). */
  atEdge: boolean;
  apply(draft: Draft): void;
}

const defect = (label: string, atEdge: boolean, apply: (d: Draft) => void): Defect => ({ label, atEdge, apply });

/** A kind of defect: the fuzz sends every kind to every route at least once, with random values. */
interface Kind {
  kind: string;
  arb: fc.Arbitrary<Defect>;
}
const kind = (name: string, arb: fc.Arbitrary<Defect>): Kind => ({ kind: name, arb });

interface FieldSpec {
  valid: fc.Arbitrary<J>;
  /** Refused by the schema: 400 at the edge. */
  malformed: fc.Arbitrary<J>;
  /** Well-formed, refused by the rules (the actor or the handler): 4xx, not at the edge. */
  breaksRule?: fc.Arbitrary<J>;
  optional?: boolean;
  /** Free text, stored as it is: NUL and lone surrogates must be refused (Postgres jsonb cannot hold them). */
  text?: boolean;
}

interface CommandRoute {
  name: string;
  method: string;
  path(ids: Record<string, string>): string;
  ids: () => Record<string, string>;
  fields?: Record<string, FieldSpec>;
  /** At least one of these fields is required (PATCH /products). */
  anyOf?: boolean;
  /** An order command: If-Match and Prefer: respond-async apply. */
  orderCommand?: boolean;
  defects: Kind[];
  /** A valid query (noise) for routes that take one. */
  query?: fc.Arbitrary<string>;
}

const NOT_JSON_TYPES = [
  'text/plain',
  'application/xml',
  'text/html; charset=utf-8',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  null,
];
const JSON_TYPES = ['application/json', 'application/json; charset=utf-8', 'application/problem+json', 'APPLICATION/JSON'];
const BAD_IDEMPOTENCY_KEYS = ['', 'has space', 'x'.repeat(129), 'clé', '-lead', 'a/b', '../../etc', "k';drop table events;--", '{"json":1}'];
const JUNK_IF_MATCH = ['nonsense', '"abc"', '"-1"', '"1.5"', 'W/"x"', '"1234567890123456"', '"', '""', '"1", "2"', 'W/', '*x', 'null'];
/** Well-formed versions the fixture order is not at (it is at 2). */
const STALE_IF_MATCH = ['"0"', '"1"', '"3"', '"999"', 'W/"7"', '123456789012345'];
const PREFER_SYNC = [
  '',
  'return=minimal',
  'wait=abc',
  'respond-asyncx',
  'x-respond-async',
  'respond_async',
  ';;;,,,',
  'handling=strict',
  'wait=99999999999999999999',
];
const PREFER_ASYNC = ['respond-async', 'RESPOND-ASYNC', 'wait=5, respond-async', 'respond-async; wait=1'];
const NOISE_HEADERS: Array<Record<string, string>> = [
  {},
  { accept: 'application/xml' },
  { 'accept-language': 'zz' },
  { 'if-none-match': '*' },
  { 'x-forwarded-for': 'junk' },
];

/** Sets one field of the body (an earlier body text is dropped only by the 64 kB defect). */
const setField = (name: string, value: J) => (d: Draft) => void (d.fields = { ...d.fields, [name]: value });

/** Defects of the body, derived from the route's fields. */
function bodyDefects(route: CommandRoute): Kind[] {
  const fields = route.fields;
  const malformedJson = fc.oneof(
    fc.constantFrom('{', '{"a":', '[1,2', "{'a':1}", '{"a":1,}', 'undefined', 'NaN', '\u0000', '{"a":1}}', '{"a" 1}', '\ufeff{"a":'),
    fc.string({ unit: 'binary', maxLength: 30 }).filter((s) => s.trim() !== '' && !parses(s)),
  );
  const notAnObject = fc.constantFrom('[]', '[{}]', '"text"', '42', 'null', 'true', '-1e400', '['.repeat(3000) + ']'.repeat(3000));
  const big = fc.oneof(
    fc.integer({ min: BODY_LIMIT_BYTES + 1, max: 100_000 }).map((n) => 'x'.repeat(n)),
    fc.constant('🙂'.repeat(17_000)),
  );
  const out: Kind[] = [
    kind(
      'malformed JSON',
      malformedJson.map((text) => defect(`malformed JSON ${JSON.stringify(text)}`, true, (d) => void (d.bodyText = text))),
    ),
    kind(
      'JSON that is not an object',
      notAnObject.map((text) => defect(`top-level ${text.slice(0, 20)}`, true, (d) => void (d.bodyText = text))),
    ),
    kind(
      'a body that is not JSON',
      fc.constantFrom(...NOT_JSON_TYPES).map((type) =>
        defect(`Content-Type ${type}`, true, (d) => {
          d.contentType = type;
          d.needsBody = true;
        }),
      ),
    ),
    kind(
      'a body over 64 kB',
      big.map((text) =>
        defect(`body over 64 kB (${Buffer.byteLength(text)} bytes of text)`, true, (d) => {
          setField(Object.keys(fields ?? {})[0] ?? 'padding', text)(d);
          d.bodyText = undefined;
        }),
      ),
    ),
  ];
  if (!fields) {
    const someBody = fc.oneof(
      fc.constantFrom<J>({ total: 1 }, { commandId: 'x' }, { expectedVersion: 0 }, [1], 'x'),
      fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<J>, { minKeys: 1, maxKeys: 3 }),
    );
    out.push(
      kind(
        'a body where none is taken',
        someBody.map((body) => defect(`a body where none is taken: ${toJson(body).slice(0, 60)}`, true, (d) => void (d.bodyText = toJson(body)))),
      ),
    );
    return out;
  }
  const names = Object.keys(fields);
  const extraKeys = fc
    .constantFrom('extra', '__proto__', 'constructor', 'commandId', 'expectedVersion', 'correlationId', '', '🙂', '\u0000', '\ud800')
    .filter((key) => !names.includes(key));
  out.push(
    kind(
      'an extra field',
      extraKeys.map((key) => defect(`extra field ${JSON.stringify(key)}`, true, setField(key, 1))),
    ),
    kind(
      'a long field under the body limit',
      fc.integer({ min: 50_000, max: 62_000 }).map((n) => defect(`a ${n}-character field (under the limit)`, true, setField(names[0]!, 'y'.repeat(n)))),
    ),
    kind(
      'a deeply nested field',
      fc.constantFrom(...names).map((name) => defect(`deeply nested ${name}`, true, setField(name, raw('['.repeat(5000) + ']'.repeat(5000))))),
    ),
  );
  const textFields = names.filter((n) => fields[n]!.text);
  if (textFields.length > 0) {
    out.push(
      kind(
        'text Postgres cannot store',
        fc.tuple(fc.constantFrom(...textFields), unstorableText).map(([name, text]) => defect(`${name}: ${JSON.stringify(text)}`, true, setField(name, text))),
      ),
    );
  }
  const required = names.filter((n) => !fields[n]!.optional);
  if (required.length > 0 || route.anyOf) {
    const missingSets = route.anyOf ? [names] : required.map((n) => [n]);
    out.push(
      kind(
        'a missing field',
        fc.constantFrom(...missingSets).map((missing) =>
          defect(`missing ${missing.join(', ')}`, true, (d) => {
            const rest = { ...d.fields };
            for (const n of missing) delete rest[n];
            d.fields = rest;
          }),
        ),
      ),
    );
  }
  for (const name of names) {
    const { malformed, breaksRule } = fields[name]!;
    out.push(
      kind(
        `${name}: malformed`,
        malformed.map((value) => defect(`${name}: ${toJson(value).slice(0, 80)}`, true, setField(name, value))),
      ),
    );
    if (breaksRule) {
      out.push(
        kind(
          `${name}: breaks a rule`,
          breaksRule.map((value) => defect(`${name} breaks a rule: ${toJson(value)}`, false, setField(name, value))),
        ),
      );
    }
  }
  return out;
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

const badPathId = (slot: string) =>
  kind(
    `a bad ${slot} id in the path`,
    badIdSegment.map((seg) => defect(`bad ${slot} id ${seg.slice(0, 40)}`, true, (d) => void (d.ids[slot] = seg))),
  );
const unknownPathId = (slot: string, atEdge: boolean) =>
  kind(
    `an unknown ${slot} in the path`,
    unknownId.map((id) => defect(`unknown ${slot} ${id}`, atEdge, (d) => void (d.ids[slot] = id))),
  );
/** Credentials that may not do this: none, junk, forged, expired, or a stranger customer's. */
const CREDENTIALS_REFUSED: Array<() => string> = [
  () => NO_AUTHORIZATION,
  () => 'Bearer',
  () => 'Bearer junk',
  () => 'Basic YWRtaW46YWRtaW4=',
  () => `Bearer ${signed.forged}`,
  () => `Bearer ${signed.expired}`,
  () => `Bearer ${signed.stranger}`,
];
const badCredentials = kind(
  'credentials that may not do this',
  fc
    .constantFrom(...CREDENTIALS_REFUSED)
    .map((credential) => credential())
    .map((authorization) => defect(`Authorization ${authorization.slice(0, 30)}`, true, (d) => void (d.headers.authorization = authorization))),
);
const badIdempotencyKey = kind(
  'a bad Idempotency-Key',
  fc
    .constantFrom(...BAD_IDEMPOTENCY_KEYS)
    .map((key) => defect(`Idempotency-Key ${JSON.stringify(key)}`, true, (d) => void (d.headers['idempotency-key'] = key))),
);

/** What every order command route refuses besides its body. */
const orderCommandDefects: Kind[] = [
  badPathId('order'),
  // Unknown and finished orders are refused at once, also as a signal (404 / 409 ORDER_CLOSED).
  unknownPathId('order', true),
  kind('a finished order', fc.constant(defect('the cancelled order', true, (d) => void (d.ids.order = fx.closedOrder)))),
  badIdempotencyKey,
  kind(
    'a junk If-Match',
    fc.constantFrom(...JUNK_IF_MATCH).map((value) => defect(`If-Match ${value}`, true, (d) => void (d.headers['if-match'] = value))),
  ),
  kind(
    'a stale If-Match',
    fc.constantFrom(...STALE_IF_MATCH).map((value) => defect(`stale If-Match ${value}`, false, (d) => void (d.headers['if-match'] = value))),
  ),
];

const JUNK_CHECKOUT_QUERIES = fc.constantFrom(
  '?wait=maybe',
  '?wait=TRUE',
  '?wait=1',
  '?wait=',
  '?timeout=0',
  '?timeout=31',
  '?timeout=abc',
  '?timeout=1.5',
  '?timeout=-1',
  '?timeout=9007199254740993',
  '?timeout=1e400',
  '?timeout=',
  '?foo=bar',
  '?wait=true&wait=false',
  '?timeout[a]=1',
  '?wait=%00',
  '?wait=true&timeout=2&timeout=3',
);
const quantity: FieldSpec = { valid: fc.integer({ min: 1, max: 3 }), malformed: notAWholeNumber, breaksRule: outOfRange(1, 1000) };
const orderIds = () => ({ order: fx.order });

const commandRoutes: CommandRoute[] = [
  {
    name: 'POST /orders',
    method: 'POST',
    path: () => '/orders',
    ids: () => ({}),
    fields: {
      orderId: { valid: fc.constant('fresh'), malformed: badIdValue, optional: true },
      customerId: { valid: fc.constantFrom('c1', `${RUN}-customer`), malformed: badIdValue },
      shippingAddress: { valid: goodAddress, malformed: badAddress, optional: true },
    },
    defects: [
      badIdempotencyKey,
      kind('an order id that exists', fc.constant(defect('an order id that exists', false, (d) => void (d.fields = { ...d.fields, orderId: fx.order })))),
      kind(
        'the id of a finished order',
        fc.constant(defect('the id of a finished order', false, (d) => void (d.fields = { ...d.fields, orderId: fx.closedOrder }))),
      ),
      kind(
        'an address with text Postgres cannot store',
        fc
          .tuple(fc.constantFrom('name', 'line1', 'city'), unstorableText)
          .map(([field, text]) =>
            defect(
              `shippingAddress.${field}: ${JSON.stringify(text)}`,
              true,
              (d) => void (d.fields = { ...d.fields, shippingAddress: { ...sampleAddress, [field]: text } }),
            ),
          ),
      ),
    ],
  },
  {
    name: 'POST /orders/:id/items',
    method: 'POST',
    path: (ids) => `/orders/${ids.order}/items`,
    ids: orderIds,
    orderCommand: true,
    fields: {
      productId: { valid: fc.constant('fixture'), malformed: badIdValue, breaksRule: unknownId },
      quantity,
    },
    defects: orderCommandDefects,
  },
  {
    name: 'PATCH /orders/:id/items/:productId',
    method: 'PATCH',
    path: (ids) => `/orders/${ids.order}/items/${ids.product}`,
    ids: () => ({ order: fx.order, product: fx.product }),
    orderCommand: true,
    fields: { quantity: { ...quantity, valid: fc.integer({ min: 2, max: 9 }) } },
    defects: [...orderCommandDefects, badPathId('product'), unknownPathId('product', false)],
  },
  {
    name: 'DELETE /orders/:id/items/:productId',
    method: 'DELETE',
    path: (ids) => `/orders/${ids.order}/items/${ids.product}`,
    ids: () => ({ order: fx.order, product: fx.product }),
    orderCommand: true,
    defects: [...orderCommandDefects, badPathId('product'), unknownPathId('product', false)],
  },
  {
    name: 'PUT /orders/:id/shipping-address',
    method: 'PUT',
    path: (ids) => `/orders/${ids.order}/shipping-address`,
    ids: orderIds,
    orderCommand: true,
    fields: {
      name: { valid: goodText(200), malformed: badText(200), text: true },
      line1: { valid: goodText(200), malformed: badText(200), text: true },
      line2: { valid: goodText(200), malformed: badText(200, true), optional: true, text: true },
      city: { valid: goodText(100), malformed: badText(100), text: true },
      postalCode: { valid: fc.constantFrom('12345', 'SW1Y 4JH', '٣٤٥'), malformed: badText(20), text: true },
      country: { valid: fc.constantFrom('US', 'GB', 'ZZ'), malformed: fc.oneof(fc.constantFrom<J>('us', 'USA', 'U', '', 'ÜS', '1A', 'GB '), wrongTypes) },
    },
    defects: orderCommandDefects,
  },
  {
    name: 'POST /orders/:id/checkout',
    method: 'POST',
    path: (ids) => `/orders/${ids.order}/checkout`,
    ids: orderIds,
    orderCommand: true,
    query: fc.constantFrom('', '?wait=false', '?wait=true&timeout=1', '?timeout=1&wait=true'),
    defects: [
      ...orderCommandDefects,
      kind(
        'a junk query',
        JUNK_CHECKOUT_QUERIES.map((q) => defect(`query ${q}`, true, (d) => void (d.query = q))),
      ),
    ],
  },
  {
    name: 'POST /orders/:id/cancel',
    method: 'POST',
    path: (ids) => `/orders/${ids.order}/cancel`,
    ids: orderIds,
    orderCommand: true,
    fields: { reason: { valid: goodText(500), malformed: badText(500), text: true } },
    defects: orderCommandDefects,
  },
  {
    name: 'POST /orders/:id/ship',
    method: 'POST',
    path: (ids) => `/orders/${ids.order}/ship`,
    ids: orderIds,
    orderCommand: true,
    // The fixture order is pending: shipping it as it is is 409 ORDER_NOT_CONFIRMED.
    defects: [...orderCommandDefects, kind('none (refused as it is)', fc.constant(defect('as is', false, () => undefined)))],
  },
  {
    name: 'POST /products',
    method: 'POST',
    path: () => '/products',
    ids: () => ({}),
    fields: {
      name: { valid: goodText(200), malformed: badText(200), text: true },
      description: { valid: goodText(2000), malformed: badText(2000, true), optional: true, text: true },
      priceCents: { valid: fc.integer({ min: 0, max: 100_000_000 }), malformed: notAWholeNumber, breaksRule: outOfRange(0, 100_000_000) },
    },
    defects: [badIdempotencyKey],
  },
  {
    name: 'PATCH /products/:id',
    method: 'PATCH',
    path: (ids) => `/products/${ids.product}`,
    ids: () => ({ product: fx.product }),
    anyOf: true,
    fields: {
      // Always a name, so that a price the rules refuse tests that a PATCH is one change or none.
      name: { valid: goodText(200), malformed: badText(200), text: true },
      priceCents: { valid: fc.integer({ min: 0, max: 100_000_000 }), malformed: notAWholeNumber, breaksRule: outOfRange(0, 100_000_000), optional: true },
    },
    defects: [badIdempotencyKey, badPathId('product'), unknownPathId('product', false)],
  },
  {
    name: 'POST /products/:id/stock',
    method: 'POST',
    path: (ids) => `/products/${ids.product}/stock`,
    ids: () => ({ product: fx.product }),
    fields: { quantity: { valid: fc.integer({ min: 1, max: 10 }), malformed: notAWholeNumber, breaksRule: outOfRange(1, 1_000_000_000) } },
    defects: [badIdempotencyKey, badPathId('product'), unknownPathId('product', false)],
  },
  {
    name: 'POST /accounts/:id/deposits',
    method: 'POST',
    path: (ids) => `/accounts/${ids.customer}/deposits`,
    ids: () => ({ customer: fx.customer }),
    fields: { amountCents: { valid: fc.integer({ min: 1, max: 100 }), malformed: notAWholeNumber, breaksRule: outOfRange(1, 1_000_000_000) } },
    defects: [badIdempotencyKey, badPathId('customer')],
  },
  {
    name: 'POST /accounts/:id/withdrawals',
    method: 'POST',
    path: (ids) => `/accounts/${ids.customer}/withdrawals`,
    ids: () => ({ customer: fx.customer }),
    fields: {
      amountCents: {
        valid: fc.integer({ min: 1, max: 100 }),
        malformed: notAWholeNumber,
        // The fixture wallet holds 5000 cents: more is INSUFFICIENT_FUNDS.
        breaksRule: fc.oneof(outOfRange(1, 1_000_000_000), fc.integer({ min: 5001, max: 1_000_000_000 })),
      },
    },
    // An unknown customer has nothing to withdraw.
    defects: [badIdempotencyKey, badPathId('customer'), unknownPathId('customer', false)],
  },
];

interface Req {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  contentType?: string | null;
  /** A command built to be refused. */
  mustRefuse: boolean;
  label: string;
  freshOrderId?: string;
  /** Drawn from the contract: a 5xx it documents (504 READ_MODEL_BEHIND for a version never reached) is an answer; only a 500 is a finding. */
  fromContract?: boolean;
}

/** The route's valid command with `defects` applied in order (a later one may overwrite an earlier one's slot). */
function commandRequests(route: CommandRoute, defects: fc.Arbitrary<Defect[]>): fc.Arbitrary<Req> {
  const fieldNames = Object.keys(route.fields ?? {});
  const validFields = fc.record(
    Object.fromEntries(
      fieldNames.map((n) => {
        const spec = route.fields![n]!;
        return [n, spec.optional ? fc.option(spec.valid, { nil: undefined }) : spec.valid];
      }),
    ),
  );
  return fc
    .record({
      fields: validFields,
      defects,
      prefer: fc.constantFrom(...PREFER_SYNC, ...PREFER_ASYNC),
      query: route.query ?? fc.constant(''),
      contentType: fc.constantFrom(...JSON_TYPES),
      noise: fc.constantFrom(...NOISE_HEADERS),
      fresh: hex(12),
    })
    .map(({ fields, defects: chosen, prefer, query, contentType, noise, fresh }) => {
      const body: Record<string, J> = {};
      for (const [k, v] of Object.entries(fields)) if (v !== undefined) body[k] = v;
      if (route.anyOf && Object.keys(body).length === 0) body[fieldNames[0]!] = 'Renamed by the fuzz';
      const draft: Draft = { method: route.method, ids: route.ids(), query, headers: { ...noise }, fields: route.fields ? body : undefined, contentType };
      if (body.orderId === 'fresh') body.orderId = draft.freshOrderId = `${RUN}-new-${fresh}`;
      if (body.productId === 'fixture') body.productId = fx.product;
      for (const d of chosen) d.apply(draft);
      if (route.orderCommand) {
        // The actor refuses some defects later, by which time a signal was already answered 202.
        // The last defect is sure to be in the request: only it may allow respond-async.
        const atEdge = chosen[chosen.length - 1]!.atEdge;
        draft.headers.prefer = atEdge || !PREFER_ASYNC.includes(prefer) ? prefer : 'return=minimal';
      }
      const bodyText = draft.bodyText ?? (draft.fields ? toJson(draft.fields) : draft.needsBody ? '{}' : undefined);
      const req: Req = {
        method: draft.method,
        path: route.path(draft.ids) + draft.query,
        headers: draft.headers,
        body: bodyText,
        contentType: draft.contentType,
        mustRefuse: true,
        label: `${route.name} [${chosen.map((d) => d.label).join(' + ')}]`,
      };
      if (draft.freshOrderId && toJson(draft.fields?.orderId ?? null) === JSON.stringify(draft.freshOrderId)) req.freshOrderId = draft.freshOrderId;
      return req;
    });
}

// ---------------------------------------------------------------------------------------------
// Reads, and routes or methods that do not exist

const orderSegment = () => fc.oneof(fc.constant(fx.order), fc.constant(fx.closedOrder), unknownId, badIdSegment);
const productSegment = () => fc.oneof(fc.constant(fx.product), unknownId, badIdSegment);
const customerSegment = () => fc.oneof(fc.constant(fx.customer), unknownId, badIdSegment);
const junkQuery = fc.constantFrom('', '?foo=bar', '?version=abc', '?a[b]=1', '?%00=%00', '?limit=1e400');

interface ReadRoute {
  name: string;
  request: () => fc.Arbitrary<{ path: string; method?: string }>;
}

const readRoutes: ReadRoute[] = [
  { name: 'GET /orders/:id', request: () => fc.tuple(orderSegment(), junkQuery).map(([o, q]) => ({ path: `/orders/${o}${q}` })) },
  { name: 'GET /orders/:id/events', request: () => orderSegment().map((o) => ({ path: `/orders/${o}/events` })) },
  {
    name: 'GET /orders/:id/state?version=',
    request: () =>
      fc
        .tuple(
          orderSegment(),
          fc.constantFrom(
            '',
            '?version=1',
            '?version=2',
            '?version=0',
            '?version=-1',
            '?version=99',
            '?version=1.5',
            '?version=abc',
            '?version=',
            '?version=0x1',
            '?version=1e400',
            '?version=9007199254740993',
            '?version=%201',
            '?version=1&version=2',
            '?version[a]=1',
            '?version=%00',
          ),
        )
        .map(([o, q]) => ({ path: `/orders/${o}/state${q}` })),
  },
  {
    name: 'GET /orders/:id/commands/:commandId',
    request: () =>
      fc.tuple(orderSegment(), fc.oneof(unknownId, badIdSegment, fc.constant('never-sent'))).map(([o, c]) => ({ path: `/orders/${o}/commands/${c}` })),
  },
  { name: 'GET /products', request: () => junkQuery.map((q) => ({ path: `/products${q}` })) },
  { name: 'GET /products/:id', request: () => productSegment().map((p) => ({ path: `/products/${p}` })) },
  { name: 'GET /inventory', request: () => junkQuery.map((q) => ({ path: `/inventory${q}` })) },
  { name: 'GET /inventory/:id', request: () => productSegment().map((p) => ({ path: `/inventory/${p}` })) },
  { name: 'GET /accounts/:id', request: () => customerSegment().map((c) => ({ path: `/accounts/${c}` })) },
  { name: 'GET /accounts/:id/events', request: () => customerSegment().map((c) => ({ path: `/accounts/${c}/events` })) },
  {
    name: 'GET /customers/:id/orders',
    request: () =>
      fc
        .tuple(
          customerSegment(),
          fc.constantFrom(
            '',
            '?limit=1',
            '?limit=0',
            '?limit=101',
            '?limit=abc',
            '?status=PENDING',
            '?status=pending',
            '?status=NOPE',
            '?cursor=junk',
            '?cursor=WyIyMDI2LTAxLTAxVDAwOjAwOjAwLjAwMFoiLCIiXQ',
            '?cursor=%00',
            '?limit=1&limit=2',
            '?foo=bar',
          ),
        )
        .map(([c, q]) => ({ path: `/customers/${c}/orders${q}` })),
  },
  {
    name: 'GET /admin/projections, /admin/dead-letters; POST /admin/dead-letters/:id/retry',
    request: () =>
      fc.oneof(
        fc.constantFrom('', '?foo=1').map((q) => ({ path: `/admin/projections${q}` })),
        fc
          .constantFrom('', '?limit=0', '?limit=501', '?limit=abc', '?projection=', `?projection=${'x'.repeat(101)}`, '?projection=order_summary&limit=5')
          .map((q) => ({ path: `/admin/dead-letters${q}` })),
        fc
          .constantFrom('999999999', '0', '-1', 'abc', '1.5', '9007199254740993', '%00')
          .map((id) => ({ path: `/admin/dead-letters/${id}/retry`, method: 'POST' })),
      ),
  },
  {
    name: 'GET /healthz, /readyz',
    request: () =>
      fc.tuple(fc.constantFrom('/healthz', '/readyz'), junkQuery, fc.constantFrom('GET', 'HEAD')).map(([p, q, method]) => ({ path: p + q, method })),
  },
];

function readRequests(route: ReadRoute): fc.Arbitrary<Req> {
  return fc
    .record({
      target: route.request(),
      method: fc.constantFrom('GET', 'GET', 'GET', 'HEAD'),
      noise: fc.constantFrom(...NOISE_HEADERS),
      ifMatch: fc.constantFrom(undefined, ...JUNK_IF_MATCH),
      prefer: fc.constantFrom(...PREFER_SYNC, ...PREFER_ASYNC),
      key: fc.constantFrom(undefined, ...BAD_IDEMPOTENCY_KEYS),
      // Mostly the admin; sometimes none, junk, or a stranger customer's token.
      authorization: fc.constantFrom(adminAuthorization, adminAuthorization, ...CREDENTIALS_REFUSED),
    })
    .map(({ target, method, noise, ifMatch, prefer, key, authorization }) => {
      const headers: Record<string, string> = { ...noise, prefer, authorization: authorization() };
      if (ifMatch !== undefined) headers['if-match'] = ifMatch;
      if (key !== undefined) headers['idempotency-key'] = key;
      return { method: target.method ?? method, path: target.path, headers, mustRefuse: false, label: route.name };
    });
}

/** Paths no route serves, and methods the routes do not take. */
function strayRequests(): fc.Arbitrary<Req> {
  const paths = () =>
    fc.constantFrom(
      '/',
      '/order',
      '/orderz',
      `/orders/${fx.order}/refund`,
      `/orders/${fx.order}/items/${fx.product}/extra`,
      `/orders/${fx.order}/items`,
      `/products/${fx.product}/stock/1`,
      `/inventory/${fx.product}/history`,
      `/accounts/${fx.customer}/transfers`,
      '/accounts',
      '//orders',
      '/%',
      '/%00',
      `/orders%2F${fx.order}`,
      '/api/orders',
      `/orders/${fx.order}/checkout/now`,
      '/healthz/deep',
      '/x'.repeat(1500),
    );
  const wrongMethod = fc.constantFrom<[string, string]>(
    ['PUT', `/orders/${fx.order}`],
    ['DELETE', `/orders/${fx.order}`],
    ['PATCH', `/orders/${fx.order}`],
    ['POST', `/orders/${fx.order}`],
    ['PUT', `/orders/${fx.order}/items/${fx.product}`],
    ['POST', `/orders/${fx.order}/items/${fx.product}`],
    ['GET', `/orders/${fx.order}/checkout`],
    ['DELETE', `/products/${fx.product}`],
    ['PUT', `/products/${fx.product}`],
    ['POST', `/products/${fx.product}`],
    ['DELETE', '/products'],
    ['POST', '/inventory'],
    ['PUT', `/inventory/${fx.product}`],
    ['PATCH', `/accounts/${fx.customer}`],
    ['DELETE', `/accounts/${fx.customer}`],
    ['GET', `/accounts/${fx.customer}/deposits`],
    ['POST', '/healthz'],
    ['DELETE', '/readyz'],
    ['PROPFIND', '/orders'],
    ['MKCOL', `/orders/${fx.order}`],
    ['PURGE', '/products'],
  );
  const body = fc.constantFrom<J | undefined>(undefined, { quantity: 1 }, { productId: 'p', quantity: 1 }, { reason: 'x' }, { name: 'n', priceCents: 1 });
  return fc
    .record({
      target: fc.oneof(
        fc.tuple(fc.constantFrom('GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'DELETE', 'PATCH', 'PROPFIND'), paths()) as fc.Arbitrary<[string, string]>,
        wrongMethod,
      ),
      body,
    })
    .map(({ target: [method, path], body: b }) => {
      const reads = ['GET', 'HEAD', 'OPTIONS'].includes(method);
      return {
        method,
        path,
        headers: {},
        body: reads || b === undefined ? undefined : toJson(b),
        mustRefuse: !reads,
        label: `stray ${method} ${path.slice(0, 40)}`,
      };
    });
}

// ---------------------------------------------------------------------------------------------
// Sending, and what every answer must be

const STACK_MARKERS = [/\n\s+at /, /node_modules/, /\/src\//, /\.[tj]s:\d+/];

async function send(req: Req): Promise<{ status: number; type: string; text: string; ms: number; headers: Headers }> {
  const headers: Record<string, string> = { authorization: adminAuthorization(), ...req.headers };
  if (headers.authorization === NO_AUTHORIZATION) delete headers.authorization;
  if (req.mustRefuse && headers['idempotency-key'] === undefined) headers['idempotency-key'] = `${RUN}-${++requestCount}`;
  let body: string | Buffer | undefined = req.body;
  if (body !== undefined) {
    if (req.contentType === null)
      body = Buffer.from(body); // bytes: fetch adds no Content-Type
    else headers['content-type'] = req.contentType ?? 'application/json';
  }
  const started = Date.now();
  const res = await fetch(api.baseUrl + req.path, { method: req.method, headers, body, signal: AbortSignal.timeout(15_000) });
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text(), ms: Date.now() - started, headers: res.headers };
}

async function check(req: Req): Promise<void> {
  const context = () =>
    `${req.label}\n  ${req.method} ${req.path.slice(0, 200)}\n  headers ${JSON.stringify(req.headers)}\n  body ${(req.body ?? '').slice(0, 300)}`;
  const before = req.mustRefuse ? await fixtureSnapshot() : '';
  let answer;
  try {
    answer = await send(req);
  } catch (err) {
    throw new Error(`no answer (${(err as Error).message})\n${context()}`, { cause: err });
  }
  const { status, type, text, headers } = answer;
  const fail = (why: string) => {
    throw new Error(`${why}: got ${status} ${type} ${text.slice(0, 400)}\n${context()}`);
  };
  if (status >= 500 && !(req.fromContract && status !== 500)) fail('a 5xx');
  if (req.body !== undefined && Buffer.byteLength(req.body) > BODY_LIMIT_BYTES && status !== 413) fail('a body over 64 kB must be 413');
  if (req.mustRefuse && (status < 400 || status >= 500)) fail('a command built to be refused was not');
  if (status >= 400) {
    if (!/^application\/problem\+json/.test(type)) fail('a 4xx must be application/problem+json');
    if (req.method !== 'HEAD') {
      let problem: { code?: unknown; detail?: unknown; status?: unknown };
      try {
        problem = JSON.parse(text);
      } catch {
        return fail('a problem must be JSON');
      }
      if (typeof problem.code !== 'string' || !/^[A-Z][A-Z0-9_]*$/.test(problem.code)) fail('a problem needs a stable code');
      if (typeof problem.detail !== 'string' || problem.detail === '') fail('a problem needs a detail');
      if (problem.status !== status) fail('the problem status must be the HTTP status');
      if (status === 413 && problem.code !== 'PAYLOAD_TOO_LARGE') fail('413 is PAYLOAD_TOO_LARGE');
      for (const marker of STACK_MARKERS) if (marker.test(String(problem.detail)) || marker.test(text)) fail(`internals leak (${marker})`);
    }
  }
  const violations = contract.violationsOf({ method: req.method, url: req.path, status, headers, body: text });
  if (violations.length > 0) fail(`outside the contract: ${violations.join('; ')}`);
  if (req.freshOrderId && status >= 400) refusedCreates.add(req.freshOrderId);
  if (req.mustRefuse && (await fixtureSnapshot()) !== before) fail('a refused command changed a fixture stream');
}

const seedOf = (name: string) => [...name].reduce((h, c) => (h * 31 + c.charCodeAt(0)) | 0, 7);

async function fuzz(name: string, requests: fc.Arbitrary<Req>, numRuns: number): Promise<void> {
  // endOnFailure: every request is real I/O; the first failing one, with its defects, is the report.
  await fc.assert(fc.asyncProperty(requests, check), { seed: seedOf(name), numRuns, endOnFailure: true });
}

describe('fuzz: every command with a defect is refused as a problem, and writes nothing', () => {
  test.each(commandRoutes.map((r) => [r.name, r] as const))('%s', async (_name, route) => {
    const kinds = [...route.defects, badCredentials, ...bodyDefects(route)];
    const any = fc.oneof(...kinds.map((k) => k.arb));
    const runs: Array<[string, fc.Arbitrary<Defect[]>, number]> = [
      // Every kind of defect alone, so none hides behind another refused earlier ...
      ...kinds.map((k): [string, fc.Arbitrary<Defect[]>, number] => [k.kind, k.arb.map((d) => [d]), 1]),
      // ... and a few random pairs.
      ['two at once', fc.tuple(any, any), PAIR_RUNS],
    ];
    const failures: string[] = [];
    for (const [name, defects, numRuns] of runs) {
      await fuzz(`${route.name}/${name}`, commandRequests(route, defects), numRuns).catch((err: Error) =>
        failures.push(`[${name}] ${String((err.cause as Error | undefined)?.message ?? err.message)}`),
      );
    }
    if (failures.length > 0) throw new Error(`${failures.length} of ${runs.length} runs failed:\n\n${failures.join('\n\n')}`);
  });
});

describe('fuzz: reads never fail with a 5xx, and their 4xx are problems', () => {
  test.each(readRoutes.map((r) => [r.name, r] as const))('%s', async (_name, route) => {
    await fuzz(route.name, readRequests(route), READ_RUNS);
  });

  test('unknown routes and methods: 404 problems (OPTIONS and HEAD answer as express does)', async () => {
    await fuzz('stray', strayRequests(), 20);
  });
});

// ---------------------------------------------------------------------------------------------
// Requests drawn from the contract: every operation, its parameters and body from their schemas

type Json = Record<string, any>;

/** Header values a client can send: printable ASCII, nothing HTTP would trim. */
const sendableHeader = (value: unknown): value is string => typeof value === 'string' && /^(?:[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?)?$/.test(value);

/**
 * Requests for one operation of the contract with every input drawn from its schema; `broken`:
 * exactly one input (the body, a path or query parameter) drawn from what the schema refuses, so
 * the request must be refused. Undefined when the operation has no input to break.
 */
function contractRequests(method: string, template: string, operation: Json, broken: boolean): fc.Arbitrary<Req> | undefined {
  const parameters = operation.parameters as Array<{ name: string; in: string; required: boolean; schema: Json }>;
  const bodySchema = operation.requestBody?.content?.['application/json']?.schema as Json | undefined;
  const slots: Array<{ slot: string; arb: fc.Arbitrary<unknown> }> = [
    ...parameters
      .filter((p) => p.in !== 'header')
      .flatMap((p) => {
        const arb = brokenValueOf(p.schema, true);
        return arb ? [{ slot: `${p.in}:${p.name}`, arb }] : [];
      }),
    ...(bodySchema && brokenValueOf(bodySchema) ? [{ slot: 'body', arb: brokenValueOf(bodySchema)! }] : []),
  ];
  if (broken && slots.length === 0) return undefined;
  const valid = (p: { schema: Json; required: boolean }) => (p.required ? valueOf(p.schema) : fc.option(valueOf(p.schema), { nil: undefined }));
  const inputs = fc.record({
    path: fc.record(Object.fromEntries(parameters.filter((p) => p.in === 'path').map((p) => [p.name, valueOf(p.schema)]))),
    query: fc.record(Object.fromEntries(parameters.filter((p) => p.in === 'query').map((p) => [p.name, valid(p)]))),
    headers: fc.record(
      Object.fromEntries(parameters.filter((p) => p.in === 'header').map((p) => [p.name, valid(p).filter((v) => v === undefined || sendableHeader(v))])),
    ),
    body: bodySchema ? (operation.requestBody.required ? valueOf(bodySchema) : fc.option(valueOf(bodySchema), { nil: undefined })) : fc.constant(undefined),
    breaking: broken ? fc.oneof(...slots.map(({ slot, arb }) => arb.map((value) => ({ slot, value })))) : fc.constant(undefined),
  });
  return inputs.map(({ path, query, headers, body, breaking }) => {
    const inPath: Record<string, unknown> = { ...path };
    const inQuery: Record<string, unknown> = { ...query };
    let sent: unknown = body;
    if (breaking) {
      const [where, name] = breaking.slot.split(':') as [string, string | undefined];
      if (where === 'path') inPath[name!] = breaking.value;
      else if (where === 'query') inQuery[name!] = breaking.value;
      else sent = breaking.value;
    }
    const url = template.replace(/\{(\w+)\}/g, (_m, name: string) => encodeURIComponent(String(inPath[name])));
    const search = new URLSearchParams(
      Object.entries(inQuery).flatMap(([k, v]): Array<[string, string]> => (v === undefined ? [] : [[k, String(v as string | number)]])),
    ).toString();
    return {
      method: method.toUpperCase(),
      path: search ? `${url}?${search}` : url,
      headers: Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== undefined)) as Record<string, string>,
      body: sent === undefined ? undefined : JSON.stringify(sent),
      mustRefuse: broken,
      fromContract: true,
      label: `contract ${method.toUpperCase()} ${template}${broken ? ` (${breaking?.slot} broken)` : ''}`,
    };
  });
}

describe('fuzz drawn from the contract', () => {
  test('every operation, with inputs drawn from its schemas: no 5xx, every answer one the contract documents, broken inputs refused', async () => {
    const operations = operationsOf(contract.spec);
    expect(operations.length).toBeGreaterThan(30);
    const failures: string[] = [];
    const unbroken: string[] = [];
    for (const { method, path, operation } of operations) {
      const key = `${method.toUpperCase()} ${path}`;
      const broken = contractRequests(method, path, operation, true);
      if (!broken && (operation.requestBody || (operation.parameters as Json[]).some((p) => p.in !== 'header'))) unbroken.push(key);
      for (const [name, drawn] of [
        ['valid', contractRequests(method, path, operation, false)],
        ['broken', broken],
      ] as const) {
        if (!drawn) continue;
        await fuzz(`contract ${key} ${name}`, drawn, CONTRACT_RUNS).catch((err: Error) =>
          failures.push(String((err.cause as Error | undefined)?.message ?? err.message)),
        );
      }
    }
    expect(failures).toEqual([]);
    expect(unbroken).toEqual([]); // every operation that takes input had some of it broken
  });
});

/** One request, as the fuzz sends it (with a fuzz Idempotency-Key), answered as status, code, body. */
async function call(method: string, path: string, options: { body?: string; contentType?: string | null; headers?: Record<string, string> } = {}) {
  const answer = await send({
    method,
    path,
    headers: options.headers ?? {},
    body: options.body,
    contentType: options.contentType,
    mustRefuse: true,
    label: '',
  });
  const body = answer.text ? (JSON.parse(answer.text) as { code?: string; name?: string; errors?: Array<{ path: string }> }) : {};
  return { status: answer.status, type: answer.type, code: body.code, body, ms: answer.ms };
}

const productEvents = async () =>
  (await pool.query(`SELECT type FROM events WHERE stream_id = $1 ORDER BY version`, [`product-${fx.product}`])).rows.map((r) => r.type);

describe('what the fuzz found, pinned', () => {
  test('text Postgres cannot store (NUL, a lone surrogate) is a 400 on every text field, not a 500 or a wedged order', async () => {
    const cases: Array<[string, string, string, string]> = [
      ['POST', '/products', '{"name":"a\\u0000b","priceCents":1}', 'name'],
      ['POST', '/products', '{"name":"ok","description":"\\ud800","priceCents":1}', 'description'],
      ['PATCH', `/products/${fx.product}`, '{"name":"\\udfffx"}', 'name'],
      // These reached the order actor, whose append then failed and was retried forever: the
      // command never answered and every later command to the order queued behind it.
      ['POST', `/orders/${fx.order}/cancel`, '{"reason":"\\u0000"}', 'reason'],
      ['PUT', `/orders/${fx.order}/shipping-address`, JSON.stringify({ ...sampleAddress, line1: 'x\ud800' }), 'line1'],
      [
        'POST',
        '/orders',
        JSON.stringify({ orderId: `${RUN}-nul`, customerId: 'c', shippingAddress: { ...sampleAddress, city: '\u0000' } }),
        'shippingAddress.city',
      ],
      ['POST', `/orders/${fx.order}/items`, '{"productId":"p","quantity":1,"\\u0000":1}', '\u0000'],
    ];
    for (const [method, path, body, field] of cases) {
      const res = await call(method, path, { body });
      expect({ method, path, status: res.status, code: res.code, paths: res.body.errors?.map((e) => e.path) }).toEqual({
        method,
        path,
        status: 400,
        code: 'VALIDATION_FAILED',
        paths: [field],
      });
    }
    await expect(client.workflow.getHandle(`order-${RUN}-nul`).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
    const deep = await call('POST', `/orders/${fx.order}/cancel`, { body: `{"reason":${'['.repeat(20_000)}"\\u0000"${']'.repeat(20_000)}}` });
    expect({ status: deep.status, code: deep.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    expect(await fixtureSnapshot()).toBe(fixtureBefore);
  });

  test('PATCH /products with a valid name and a price the rules refuse changes nothing (it used to rename)', async () => {
    const res = await call('PATCH', `/products/${fx.product}`, { body: '{"name":"Renamed","priceCents":-1}' });
    expect({ status: res.status, code: res.code }).toEqual({ status: 422, code: 'INVALID_PRICE' });
    expect(await productEvents()).toEqual(['ProductCreated']);
    const product = await apiFor(api.baseUrl).GET('/products/{productId}', { params: { path: { productId: fx.product }, query: { consistency: 'strong' } } });
    expect(product.data!.name).toBe('Fuzz mug');
  });

  test('a body that is not JSON is 415 (it used to be ignored: a checkout went through), and over 64 kB it is 413', async () => {
    for (const contentType of ['text/plain', 'application/xml', 'application/x-www-form-urlencoded', null]) {
      for (const path of [`/orders/${fx.order}/checkout`, `/orders/${fx.order}/ship`, `/orders/${fx.order}/items`]) {
        const res = await call('POST', path, { body: '{}', contentType });
        expect({ path, contentType, status: res.status, code: res.code, type: res.type }).toEqual({
          path,
          contentType,
          status: 415,
          code: 'UNSUPPORTED_MEDIA_TYPE',
          type: expect.stringMatching(/^application\/problem\+json/),
        });
      }
    }
    const big = await call('POST', '/products', { body: 'x'.repeat(70_000), contentType: 'text/plain' });
    expect({ status: big.status, code: big.code }).toEqual({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
    const charset = await call('POST', '/products', { body: '{}', contentType: 'application/json; charset=klingon' });
    expect({ status: charset.status, code: charset.code }).toEqual({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
    // No body, no Content-Type: still fine (the README's checkout has none).
    expect((await call('POST', `/orders/${fx.order}/checkout`, { headers: { 'if-match': '"999"' } })).code).toBe('VERSION_MISMATCH');
    expect(await fixtureSnapshot()).toBe(fixtureBefore);
  });

  test('DELETE /orders/:id/items/:productId with a body is a 400 (it used to remove the item)', async () => {
    for (const body of ['[]', '{"quantity":1}', '{"productId":"other"}']) {
      const res = await call('DELETE', `/orders/${fx.order}/items/${fx.product}`, { body });
      expect({ body, status: res.status, code: res.code }).toEqual({ body, status: 400, code: 'VALIDATION_FAILED' });
    }
    expect(await fixtureSnapshot()).toBe(fixtureBefore);
  });
});

describe('after the fuzz', () => {
  test('nothing was written: the fixtures are as they were and no event carries a fuzz Idempotency-Key', async () => {
    expect(requestCount).toBeGreaterThan(100);
    expect(await fixtureSnapshot()).toBe(fixtureBefore);
    const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE metadata->>'commandId' LIKE $1`, [`${RUN}-%`]);
    expect(rows[0]!.n).toBe(0);
  });

  test('no refused create started an order actor', async () => {
    expect(refusedCreates.size).toBeGreaterThan(0);
    for (const orderId of refusedCreates) {
      await expect(client.workflow.getHandle(`order-${orderId}`).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
    }
  });

  test('the fixture order still answers commands: nothing wedged it', async () => {
    const admin = apiFor(api.baseUrl);
    const order = { path: { orderId: fx.order } };
    // The actor decides this refusal; a wedged one would leave the command to its deadline (503 COMMAND_TIMEOUT).
    const res = await admin.POST('/orders/{orderId}/items', { params: order, body: { productId: fx.product, quantity: 0 } });
    expectProblem(res, 422, 'INVALID_QUANTITY');
    const stream = (await admin.GET('/orders/{orderId}/events', { params: order })).data!;
    expect(stream.events.map((e) => e.type)).toEqual(['OrderCreated', 'OrderItemAdded']);
  });
});
