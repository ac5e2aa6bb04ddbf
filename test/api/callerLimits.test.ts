import fc from 'fast-check';
import { loadConfig, parseTrustProxy } from '../../src/config';
import { ReadModelChanges } from '../../src/db/readModelChanges';
import { apiFor, customer, expectProblem, rawHttp, TEST_AUTH_SECRET, uniqueId, useTestApi } from '../support/harness';
import { countingDb, eventually, startApiWith } from './appWith';

/*
 * Who a request counts against: a valid token's subject, else the client address. Bad tokens and
 * no token are counted by address; the address is the socket's peer unless TRUST_PROXY says which
 * proxies' X-Forwarded-For to believe.
 */

const shared = useTestApi();
/**
 * Three requests at once, then (practically) none: the fourth from a caller is over its limit. The
 * buckets live in the run's one database, so each test's apps get a policy of their own.
 */
const tight = () => ({ perSecond: 0.001, burst: 3, policy: uniqueId('tight') });

async function statuses(baseUrl: string, times: number, options: Parameters<typeof rawHttp>[3]): Promise<number[]> {
  const seen: number[] = [];
  for (let i = 0; i < times; i++) seen.push((await rawHttp(baseUrl, 'GET', '/products', options)).status);
  return seen;
}

describe('bad and missing tokens are rate limited by address', () => {
  test('invalid bearer tokens are 401 until the limit, then 429 RATE_LIMITED with Retry-After', async () => {
    const api = await startApiWith({ db: shared.pool, client: shared.client, auth: { secret: TEST_AUTH_SECRET, rateLimit: tight() } });
    try {
      expect(await statuses(api.baseUrl, 3, { headers: { authorization: 'Bearer a.b.c' } })).toEqual([401, 401, 401]);
      const limited = await rawHttp(api.baseUrl, 'GET', '/products', { headers: { authorization: 'Bearer a.b.c' } });
      expectProblem(limited, 429, 'RATE_LIMITED');
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      // A malformed header and no header at all come from the same address: the same bucket.
      expectProblem(await rawHttp(api.baseUrl, 'GET', '/products', { headers: { authorization: 'Basic dXNlcjpwYXNz' } }), 429, 'RATE_LIMITED');
      expectProblem(await apiFor(api.baseUrl, 'anonymous').GET('/products'), 429, 'RATE_LIMITED');
      // A valid token is its own caller.
      const alice = customer(uniqueId('alice'));
      expect((await apiFor(api.baseUrl, alice).GET('/customers/{customerId}/orders', { params: { path: { customerId: alice.sub } } })).response.status).toBe(
        200,
      );
    } finally {
      await api.close();
    }
  });

  test('requests without a token to a signed-in route are 401 until the limit, then 429', async () => {
    const api = await startApiWith({ db: shared.pool, client: shared.client, auth: { secret: TEST_AUTH_SECRET, rateLimit: tight() } });
    try {
      const seen: number[] = [];
      for (let i = 0; i < 5; i++) seen.push((await rawHttp(api.baseUrl, 'GET', '/orders/some-order', { as: 'anonymous' })).status);
      expect(seen).toEqual([401, 401, 401, 429, 429]);
    } finally {
      await api.close();
    }
  });
});

describe('a caller over its limit costs the database nothing until its bucket refills', () => {
  const anonymousStatuses = async (baseUrl: string, times: number) => {
    const seen: number[] = [];
    for (let i = 0; i < times; i++) seen.push((await rawHttp(baseUrl, 'GET', '/orders/some-order', { as: 'anonymous' })).status);
    return seen;
  };

  test('after its first 429 a flooding caller is refused without a statement, with the same headers', async () => {
    // An anonymous request to a signed-in route is refused (401) before any query but the rate limit's.
    const db = countingDb(shared.pool);
    const readModelChanges = ReadModelChanges.forPool(shared.pool);
    const api = await startApiWith({ db, client: shared.client, readModelChanges, auth: { secret: TEST_AUTH_SECRET, rateLimit: tight() } });
    try {
      expect(await anonymousStatuses(api.baseUrl, 4)).toEqual([401, 401, 401, 429]);
      const queriesAtFirstRefusal = db.queries;
      expect(await anonymousStatuses(api.baseUrl, 20)).toEqual(Array(20).fill(429));
      expect(db.queries).toBe(queriesAtFirstRefusal);
      const refused = await rawHttp(api.baseUrl, 'GET', '/orders/some-order', { as: 'anonymous' });
      expectProblem(refused, 429, 'RATE_LIMITED');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(refused.headers.get('ratelimit-remaining')).toBe('0');
    } finally {
      await api.close();
      await readModelChanges.close();
    }
  });

  test('it is never refused longer than Postgres would refuse it: once a token has refilled, it is served', async () => {
    // One request, then one more every 100 ms.
    const api = await startApiWith({
      db: shared.pool,
      client: shared.client,
      auth: { secret: TEST_AUTH_SECRET, rateLimit: { perSecond: 10, burst: 1, policy: uniqueId('refill') } },
    });
    try {
      expect(await anonymousStatuses(api.baseUrl, 2)).toEqual([401, 429]);
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(await anonymousStatuses(api.baseUrl, 1)).toEqual([401]);
    } finally {
      await api.close();
    }
  });
});

describe('one budget per caller across API replicas', () => {
  /** Two API processes' worth of the app on the one database, with one policy, as replicas behind a load balancer run. */
  async function replicas(limit: ReturnType<typeof tight>) {
    const start = () => startApiWith({ db: shared.pool, client: shared.client, auth: { secret: TEST_AUTH_SECRET, rateLimit: limit } });
    const [a, b] = await Promise.all([start(), start()]);
    return { a, b, close: () => Promise.all([a.close(), b.close()]) };
  }

  test('requests spread over two replicas draw on one budget, and every answer says what is left', async () => {
    const { a, b, close } = await replicas(tight());
    try {
      const alice = customer(uniqueId('alice'));
      const seen = [];
      for (const api of [a, b, a, b]) {
        const res = await apiFor(api.baseUrl, alice).GET('/customers/{customerId}/orders', { params: { path: { customerId: alice.sub } } });
        seen.push([
          res.response.status,
          res.response.headers.get('ratelimit-limit'),
          res.response.headers.get('ratelimit-remaining'),
          res.response.headers.get('ratelimit-policy'),
        ]);
      }
      expect(seen).toEqual([
        [200, '3', '2', '3;w=3000'],
        [200, '3', '1', '3;w=3000'],
        [200, '3', '0', '3;w=3000'],
        [429, '3', '0', '3;w=3000'],
      ]);
      const limited = await apiFor(a.baseUrl, alice).GET('/customers/{customerId}/orders', { params: { path: { customerId: alice.sub } } });
      expectProblem(limited, 429, 'RATE_LIMITED');
      // One token comes back in 1000 s; the whole burst in 3000 s.
      expect([limited.response.headers.get('retry-after'), limited.response.headers.get('ratelimit-reset')]).toEqual([
        expect.stringMatching(/^(999|1000)$/),
        expect.stringMatching(/^(2999|3000)$/),
      ]);
      // Another caller has a budget of its own.
      expect((await apiFor(b.baseUrl, customer(uniqueId('bob'))).GET('/products')).response.status).toBe(200);
    } finally {
      await close();
    }
  });

  test('a burst of concurrent requests over both replicas gets exactly the budget through', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 6 }), fc.array(fc.boolean(), { minLength: 1, maxLength: 16 }), async (burst, sides) => {
        const { a, b, close } = await replicas({ ...tight(), burst });
        try {
          const caller = customer(uniqueId('burst'));
          const [onA, onB] = [apiFor(a.baseUrl, caller), apiFor(b.baseUrl, caller)];
          const statuses = await Promise.all(sides.map(async (sendToA) => (await (sendToA ? onA : onB).GET('/products')).response.status));
          expect(statuses.filter((s) => s === 200)).toHaveLength(Math.min(burst, sides.length));
          expect(statuses.filter((s) => s !== 200).every((s) => s === 429)).toBe(true);
        } finally {
          await close();
        }
      }),
      { numRuns: 15 },
    );
  });

  test('every 1000 requests a process sweeps its policy’s buckets that are full again, and no other policy’s', async () => {
    const limit = { perSecond: 1000, burst: 1, policy: uniqueId('sweep') }; // full again 1 ms after its last request
    const other = uniqueId('slow-policy');
    const stale = `INSERT INTO rate_limit_buckets (policy, caller, tokens, granted, updated_at) VALUES ($1, 'ip:192.0.2.1', 0, false, now() - interval '1 hour')`;
    await shared.pool.query(stale, [limit.policy]);
    await shared.pool.query(stale, [other]);
    const { a, close } = await replicas({ ...tight(), ...limit });
    try {
      const staleRows = async (policy: string) =>
        (await shared.pool.query(`SELECT 1 FROM rate_limit_buckets WHERE policy = $1 AND caller = 'ip:192.0.2.1'`, [policy])).rowCount;
      const anonymous = apiFor(a.baseUrl, 'anonymous');
      for (let sent = 0; sent < 1000; sent += 50) {
        await Promise.all(Array.from({ length: 50 }, () => anonymous.GET('/products')));
      }
      expect(await staleRows(other)).toBe(1);
      // The sweep runs beside the 1000th request, not before its answer.
      expect(await eventually(async () => (await staleRows(limit.policy)) === 0)).toBe(true);
      expect(await staleRows(other)).toBe(1);
    } finally {
      await close();
    }
  });

  test('open routes (probes, metrics, the contract) are not limited and carry no RateLimit headers', async () => {
    const { a, close } = await replicas({ ...tight(), burst: 1 });
    try {
      for (let i = 0; i < 3; i++) {
        const res = await apiFor(a.baseUrl, 'anonymous').GET('/healthz');
        expect([res.response.status, res.response.headers.get('ratelimit-limit')]).toEqual([200, null]);
      }
    } finally {
      await close();
    }
  });
});

describe('TRUST_PROXY', () => {
  const from = (address: string) => ({ as: 'anonymous' as const, headers: { 'x-forwarded-for': address } });

  test('with the proxy trusted, two clients behind it get a bucket each', async () => {
    // The tests' requests come from 127.0.0.1: here that is the proxy.
    const api = await startApiWith({ db: shared.pool, client: shared.client, trustProxy: 'loopback', auth: { secret: TEST_AUTH_SECRET, rateLimit: tight() } });
    try {
      expect(await statuses(api.baseUrl, 4, from('203.0.113.7'))).toEqual([200, 200, 200, 429]);
      expect(await statuses(api.baseUrl, 4, from('203.0.113.8'))).toEqual([200, 200, 200, 429]);
    } finally {
      await api.close();
    }
  });

  test('without it, every client behind the proxy is the proxy: one bucket, and X-Forwarded-For cannot escape it', async () => {
    const api = await startApiWith({ db: shared.pool, client: shared.client, auth: { secret: TEST_AUTH_SECRET, rateLimit: tight() } });
    try {
      expect(await statuses(api.baseUrl, 4, from('203.0.113.7'))).toEqual([200, 200, 200, 429]);
      expect(await statuses(api.baseUrl, 1, from('203.0.113.8'))).toEqual([429]);
      expect(await statuses(api.baseUrl, 1, from('198.51.100.1, 203.0.113.9'))).toEqual([429]);
      expect((await apiFor(api.baseUrl, 'anonymous').GET('/products')).response.status).toBe(429);
    } finally {
      await api.close();
    }
  });

  test('a peer outside the trusted subnets is no proxy: what it forwards is ignored', async () => {
    const api = await startApiWith({
      db: shared.pool,
      client: shared.client,
      trustProxy: '10.0.0.0/8, fd00::/8',
      auth: { secret: TEST_AUTH_SECRET, rateLimit: tight() },
    });
    try {
      expect(await statuses(api.baseUrl, 4, from('203.0.113.7'))).toEqual([200, 200, 200, 429]);
      expect(await statuses(api.baseUrl, 1, from('203.0.113.8'))).toEqual([429]);
    } finally {
      await api.close();
    }
  });

  test('trusting one hop believes only the address the proxy appended, not what the client wrote before it', async () => {
    const api = await startApiWith({ db: shared.pool, client: shared.client, trustProxy: 1, auth: { secret: TEST_AUTH_SECRET, rateLimit: tight() } });
    try {
      // The proxy appends the real client (203.0.113.7); the entries before it are the client's own words.
      expect(await statuses(api.baseUrl, 4, from('203.0.113.7'))).toEqual([200, 200, 200, 429]);
      expect(await statuses(api.baseUrl, 1, from('198.51.100.1, 203.0.113.7'))).toEqual([429]);
    } finally {
      await api.close();
    }
  });

  test('the setting reads as express does: unset or false trusts nobody; true, a hop count, or addresses', () => {
    expect(parseTrustProxy(undefined)).toBe(false);
    expect(parseTrustProxy('')).toBe(false);
    expect(parseTrustProxy('false')).toBe(false);
    expect(parseTrustProxy('true')).toBe(true);
    expect(parseTrustProxy('2')).toBe(2);
    expect(parseTrustProxy(' loopback, 10.0.0.0/8 ')).toBe('loopback, 10.0.0.0/8');
    expect(loadConfig({}).TRUST_PROXY).toBe(false);
    expect(loadConfig({ TRUST_PROXY: '1' }).TRUST_PROXY).toBe(1);
    expect(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8, 192.168.0.0/255.255.0.0, ::1, fd00::/8' }).TRUST_PROXY).toBe(
      'loopback, 10.0.0.0/8, 192.168.0.0/255.255.0.0, ::1, fd00::/8',
    );
  });

  test('what express could not read is refused at start, naming TRUST_PROXY', () => {
    for (const value of ['proxy.example', '10.0.0.0/33', '10.0.0.0/0', '::1/129', '10.0.0.0/255.0.255.0', 'loopback,', 'yes']) {
      expect(() => loadConfig({ TRUST_PROXY: value })).toThrow(/TRUST_PROXY/);
    }
  });
});
