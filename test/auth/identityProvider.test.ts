import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import type { IdentityProvider } from '../../src/auth/tokens';
import { apiClient } from '../../src/client';
import { loadConfig, tokenSettings } from '../../src/config';
import { createLogger, type Logger } from '../../src/logger';
import { startApiWith } from '../api/appWith';
import { customer, expectProblem, rawHttp, TEST_AUTH_SECRET, type TestApi, tokenFor, uniqueId, useTestApi } from '../support/harness';

/*
 * Tokens from an identity provider: a real HTTP server here publishes its JSON Web Key Set and
 * rotates its keys, the real app verifies with jose against it, and every refusal is a 401 (or a
 * 503 when the keys are out of reach) with a stable code, never a 500.
 */

const shared = useTestApi();
const ISSUER = 'https://idp.test.example/';
const AUDIENCE = 'order-actors-api';
const GENEROUS = { perSecond: 100_000, burst: 100_000 };

interface TestKey {
  kid: string;
  alg: 'RS256' | 'ES256';
  privateKey: CryptoKey;
  jwk: JWK;
}

async function newKey(alg: TestKey['alg']): Promise<TestKey> {
  const kid = uniqueId(alg);
  const { privateKey, publicKey } = await generateKeyPair(alg);
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** The provider's JWKS endpoint: serves `keys`, counts fetches, and can fail. */
class JwksServer {
  keys: TestKey[] = [];
  fetches = 0;
  failing = false;
  private server!: Server;

  async start(): Promise<this> {
    this.server = createServer((_req, res) => {
      this.fetches++;
      if (this.failing) return void res.writeHead(502).end();
      res.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(JSON.stringify({ keys: this.keys.map((k) => k.jwk) }));
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  get url(): URL {
    return new URL(`http://127.0.0.1:${(this.server.address() as AddressInfo).port}/.well-known/jwks.json`);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

interface Claims {
  sub?: string;
  roles?: string[];
  iss?: string;
  aud?: string;
  /** Seconds from now. */
  expiresIn?: number;
  kid?: string;
}

/** A token as the provider issues it: the role among `realm_access.roles` (Keycloak's shape). */
function issue(key: TestKey, claims: Claims = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ realm_access: { roles: claims.roles ?? ['offline_access', 'customer'] } })
    .setProtectedHeader({ alg: key.alg, kid: claims.kid ?? key.kid, typ: 'JWT' })
    .setSubject(claims.sub ?? 'alice')
    .setIssuer(claims.iss ?? ISSUER)
    .setAudience(claims.aud ?? AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(now + (claims.expiresIn ?? 300))
    .sign(key.privateKey);
}

const provider = (jwks: JwksServer, refetchCooldownMs = 0): IdentityProvider => ({
  jwksUrl: jwks.url,
  issuer: ISSUER,
  audience: AUDIENCE,
  subjectClaim: 'sub',
  roleClaim: 'realm_access.roles',
  algorithms: ['RS256', 'ES256'],
  refetchCooldownMs,
});

const startWith = (idp: IdentityProvider, logger?: Logger): Promise<TestApi> =>
  startApiWith({ db: shared.pool, client: shared.client, auth: { identityProvider: idp, rateLimit: GENEROUS }, ...(logger ? { logger } : {}) });

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
/** The typed client of `api`, carrying a token the provider issued; a token it would refuse goes raw, with `bearer`. */
const carrying = (api: TestApi, token: string) => apiClient(api.baseUrl, bearer(token));
const ownOrders = (api: TestApi, sub: string, token: string) =>
  carrying(api, token).GET('/customers/{customerId}/orders', { params: { path: { customerId: sub } } });
const products = (api: TestApi, token: string) => carrying(api, token).GET('/products');

let jwks: JwksServer;
let api: TestApi;
let rsa: TestKey;
let ec: TestKey;

beforeAll(async () => {
  [rsa, ec] = await Promise.all([newKey('RS256'), newKey('ES256')]);
  jwks = await new JwksServer().start();
  jwks.keys = [rsa, ec];
  api = await startWith(provider(jwks));
});

afterAll(async () => {
  await api.close();
  await jwks.close();
});

describe("an identity provider's tokens", () => {
  test('RS256 and ES256 tokens verify against its key set; the role comes from the configured claim', async () => {
    const alice = uniqueId('alice');
    expect((await ownOrders(api, alice, await issue(rsa, { sub: alice }))).response.status).toBe(200);
    expect((await ownOrders(api, alice, await issue(ec, { sub: alice }))).response.status).toBe(200);
    // A customer reaches only its own orders; the provider's admin reaches anyone's.
    expectProblem(await ownOrders(api, uniqueId('bob'), await issue(rsa, { sub: alice })), 404, 'CUSTOMER_NOT_FOUND');
    expect((await ownOrders(api, uniqueId('bob'), await issue(ec, { sub: 'ops', roles: ['customer', 'admin'] }))).response.status).toBe(200);
  });

  test('after the provider rotates its keys, tokens of the new kid verify and those of the retired one do not', async () => {
    const rotated = await newKey('RS256');
    const before = await issue(rsa);
    expect((await products(api, before)).response.status).toBe(200);
    jwks.keys = [rotated, ec];
    const fetched = jwks.fetches;
    expect((await products(api, await issue(rotated))).response.status).toBe(200);
    expect(jwks.fetches).toBe(fetched + 1); // the unknown kid made it look again, once
    expectProblem(await rawHttp(api.baseUrl, 'GET', '/products', bearer(before)), 401, 'INVALID_TOKEN');
    jwks.keys = [rsa, ec];
  });

  test('an unknown kid, another issuer or audience, no expiry, alg none, or an HS256 token is 401 INVALID_TOKEN; an expired one TOKEN_EXPIRED', async () => {
    const stranger = await newKey('ES256');
    const [header, payload] = (await issue(rsa)).split('.');
    const noneHeader = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const refused = {
      'unknown kid': await issue(stranger),
      'known kid, other key': await issue(stranger, { kid: rsa.kid }),
      'other issuer': await issue(rsa, { iss: 'https://evil.example/' }),
      'other audience': await issue(rsa, { aud: 'another-api' }),
      'alg none': `${noneHeader}.${payload}.`,
      'signature of another token': `${header}.${payload}.${(await issue(rsa, { sub: 'bob' })).split('.')[2]}`,
      // The service's own kind of token means nothing once a provider is configured.
      'HS256 with AUTH_SECRET': await tokenFor(customer('alice')),
      'no role': await issue(rsa, { roles: ['offline_access'] }),
    };
    for (const [why, token] of Object.entries(refused)) {
      const res = await rawHttp(api.baseUrl, 'GET', '/products', bearer(token));
      expect({ why, status: res.status, code: res.body.code, type: res.headers.get('content-type') }).toEqual({
        why,
        status: 401,
        code: 'INVALID_TOKEN',
        type: 'application/problem+json; charset=utf-8',
      });
      expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    }
    expectProblem(await rawHttp(api.baseUrl, 'GET', '/products', bearer(await issue(rsa, { expiresIn: -60 }))), 401, 'TOKEN_EXPIRED');
  });

  test('unknown kids do not make every request fetch the key set: once per cooldown', async () => {
    const server = await new JwksServer().start();
    server.keys = [rsa];
    const cooled = await startWith(provider(server, 3_600_000));
    try {
      expect((await products(cooled, await issue(rsa))).response.status).toBe(200);
      for (let i = 0; i < 5; i++) {
        expectProblem(await rawHttp(cooled.baseUrl, 'GET', '/products', bearer(await issue(rsa, { kid: uniqueId('unknown') }))), 401, 'INVALID_TOKEN');
      }
      expect(server.fetches).toBe(1);
    } finally {
      await cooled.close();
      await server.close();
    }
  });

  test('a key set out of reach is 503 IDENTITY_PROVIDER_UNAVAILABLE with Retry-After, not a 401 for a token that may be fine', async () => {
    const server = await new JwksServer().start();
    server.failing = true;
    const logged: string[] = [];
    const cut = await startWith(provider(server), createLogger('info', 'test', { write: (line: string) => void logged.push(line) }));
    try {
      const res = await products(cut, await issue(rsa));
      expectProblem(res, 503, 'IDENTITY_PROVIDER_UNAVAILABLE');
      expect(Number(res.response.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(res.error?.detail).not.toContain(server.url.host); // the operator's log says where, not the answer
      expect(logged.join('')).toContain('identity provider keys unavailable');
      expect(logged.join('')).toContain('Expected 200 OK from the JSON Web Key Set HTTP response');
      server.failing = false;
      server.keys = [rsa];
      expect((await products(cut, await issue(rsa))).response.status).toBe(200);
    } finally {
      await cut.close();
      await server.close();
    }
  });

  test('malformed and tampered tokens are never a 500', async () => {
    const valid = await issue(rsa);
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const token = fc.oneof(
      fc.stringMatching(/^[A-Za-z0-9_=-]{0,40}(\.[A-Za-z0-9_=-]{0,40}){0,4}$/),
      // One character of a real token changed.
      fc.tuple(fc.nat(valid.length - 1), fc.constantFrom(...'AZaz09-_.=')).map(([at, c]) => valid.slice(0, at) + c + valid.slice(at + 1)),
      // Any header and claims, with the real token's signature.
      fc.tuple(fc.jsonValue(), fc.jsonValue()).map(([header, claims]) => `${b64(header)}.${b64(claims)}.${valid.split('.')[2]}`),
      fc
        .record({
          alg: fc.constantFrom('RS256', 'ES256', 'HS256', 'none', 'PS256', 'EdDSA', ''),
          kid: fc.oneof(fc.constant(rsa.kid), fc.string()),
          crit: fc.option(fc.array(fc.string())),
        })
        .map((header) => `${b64(header)}.${valid.split('.')[1]}.${valid.split('.')[2]}`),
    );
    await fc.assert(
      fc.asyncProperty(token, async (candidate) => {
        const res = await rawHttp(api.baseUrl, 'GET', '/products', bearer(candidate));
        expect([200, 401]).toContain(res.status);
        if (res.status === 401) expect(['INVALID_TOKEN', 'TOKEN_EXPIRED']).toContain(res.body.code);
      }),
      { numRuns: 150 },
    );
  });
});

describe('AUTH_* settings', () => {
  const idp = { AUTH_JWKS_URL: 'https://idp.example/jwks', AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE };

  test('an identity provider: its URL, issuer and audience, the claims, algorithms and cooldown', () => {
    expect(
      tokenSettings(loadConfig({ ...idp, AUTH_ROLE_CLAIM: 'https://shop.example/roles', AUTH_ALGORITHMS: 'ES256, RS256', AUTH_JWKS_COOLDOWN: '1m' })),
    ).toEqual({
      identityProvider: {
        jwksUrl: new URL(idp.AUTH_JWKS_URL),
        issuer: ISSUER,
        audience: AUDIENCE,
        subjectClaim: 'sub',
        roleClaim: 'https://shop.example/roles',
        algorithms: ['ES256', 'RS256'],
        refetchCooldownMs: 60_000,
      },
    });
    expect(tokenSettings(loadConfig({ AUTH_SECRET: TEST_AUTH_SECRET }))).toEqual({ secret: TEST_AUTH_SECRET });
    expect(tokenSettings(loadConfig({}), () => TEST_AUTH_SECRET)).toEqual({ secret: TEST_AUTH_SECRET });
  });

  test('what cannot work is refused at start, naming the variable', () => {
    expect(() => loadConfig({ AUTH_JWKS_URL: idp.AUTH_JWKS_URL })).toThrow(/AUTH_ISSUER: required with AUTH_JWKS_URL; AUTH_AUDIENCE: required/);
    expect(() => loadConfig({ ...idp, AUTH_SECRET: TEST_AUTH_SECRET })).toThrow(/AUTH_SECRET: set either AUTH_JWKS_URL/);
    expect(() => loadConfig({ ...idp, AUTH_ALGORITHMS: 'RS256,HS256' })).toThrow(/AUTH_ALGORITHMS/);
    expect(() => loadConfig({ ...idp, AUTH_JWKS_URL: 'file:///etc/jwks.json' })).toThrow(/AUTH_JWKS_URL/);
    // A key set fetched in the clear from another host could be swapped by anyone on the path.
    expect(() => loadConfig({ ...idp, AUTH_JWKS_URL: 'http://idp.example/jwks' })).toThrow(/AUTH_JWKS_URL: must be https/);
    expect(loadConfig({ ...idp, AUTH_JWKS_URL: 'http://127.0.0.1:8080/jwks' }).AUTH_JWKS_URL).toBe('http://127.0.0.1:8080/jwks');
    expect(() => tokenSettings(loadConfig({}))).toThrow(/AUTH_JWKS_URL.*or AUTH_SECRET/);
  });
});
