import { createRemoteJWKSet, errors, jwtVerify, SignJWT, type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose';
import { z } from 'zod';
import { idSchema } from '../workflows/orderContract';

/**
 * Bearer tokens: JWTs (RFC 7519), verified by `jose`. In production they come from an identity
 * provider and are signed with its RS256/ES256 keys, published as a JWKS; in development and tests
 * the service signs its own with HS256 and AUTH_SECRET. `customer` tokens act for the customer in
 * the subject; `admin` tokens run the shop.
 */
export const ROLES = ['customer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  /** The customer id for `customer`; who acts for `admin`. */
  sub: string;
  role: Role;
}

/** A secret shorter than this is refused: HS256 is only as strong as its key. */
export const MIN_SECRET_LENGTH = 32;

/** Public-key algorithms an identity provider may sign with; HS256 is never among them (its key is not public). */
export const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

/** Seconds by which the clock of whoever issued a token (`iat`, `nbf`, `exp`) may differ from ours. */
export const CLOCK_TOLERANCE_SECONDS = 5;

/** Where the tokens of an identity provider (OIDC or plain OAuth 2 with JWT access tokens) are checked. */
export interface IdentityProvider {
  /** Its JSON Web Key Set, e.g. `https://idp.example.com/.well-known/jwks.json` (the `jwks_uri` of its discovery document). */
  jwksUrl: URL;
  /** The `iss` its tokens carry. */
  issuer: string;
  /** The `aud` that names this API; tokens for any other audience are refused. */
  audience: string;
  /** The claim with the customer id (default `sub`). */
  subjectClaim: string;
  /** The claim with the role, `customer` or `admin`, as a string or among an array; a dotted name reaches into objects (`realm_access.roles`). */
  roleClaim: string;
  algorithms: ReadonlyArray<(typeof ASYMMETRIC_ALGORITHMS)[number]>;
  /**
   * After a token names a `kid` the cached key set lacks, how long until the set may be fetched
   * again: a rotated-in key is seen at once, but unknown kids cannot make us hammer the provider.
   */
  refetchCooldownMs: number;
}

/** Whose tokens the API accepts: its own (HS256, development and tests) or an identity provider's, never both. */
export type TokenSettings = { secret: string } | { identityProvider: IdentityProvider };

/** The principal a bearer token speaks for; rejects with InvalidToken or TokenKeysUnavailable. */
export type TokenVerifier = (token: string, now?: Date) => Promise<Principal>;

/** The token is not one we accept. `expired` ones may be renewed by the client; others never will verify. */
export class InvalidToken extends Error {
  constructor(
    message: string,
    readonly expired = false,
  ) {
    super(message);
  }
}

/** The identity provider's keys could not be fetched: the token may be fine, we cannot tell yet. */
export class TokenKeysUnavailable extends Error {}

export function assertUsableSecret(secret: string | undefined): asserts secret is string {
  if (!secret || secret.length < MIN_SECRET_LENGTH) {
    throw new Error(`AUTH_SECRET must be at least ${MIN_SECRET_LENGTH} characters (for example: openssl rand -base64 48).`);
  }
}

/** An HS256 token for `principal`, valid for `ttlSeconds` from `now`: development and tests (`npm run token`). */
export async function signToken(secret: string, principal: Principal, ttlSeconds = 3600, now = Date.now()): Promise<string> {
  assertUsableSecret(secret);
  const iat = Math.floor(now / 1000);
  return new SignJWT({ role: principal.role })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(principal.sub)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ttlSeconds)
    .sign(new TextEncoder().encode(secret));
}

export function tokenVerifier(settings: TokenSettings): TokenVerifier {
  if ('secret' in settings) {
    assertUsableSecret(settings.secret);
    const key = new TextEncoder().encode(settings.secret);
    return (token, now) => verified(token, key, { algorithms: ['HS256'] }, { subject: 'sub', role: 'role' }, now);
  }
  const idp = settings.identityProvider;
  const keys = providerKeys(idp);
  const options = { algorithms: [...idp.algorithms], issuer: idp.issuer, audience: idp.audience };
  return (token, now) => verified(token, keys, options, { subject: idp.subjectClaim, role: idp.roleClaim }, now);
}

/**
 * The provider's keys by `kid`, cached (jose refetches the set after 10 minutes, and on an unknown
 * `kid` once the cooldown has passed). A failure to fetch them is the provider's, not the token's.
 */
function providerKeys(idp: IdentityProvider): JWTVerifyGetKey {
  const keys = createRemoteJWKSet(idp.jwksUrl, { cooldownDuration: idp.refetchCooldownMs });
  return async (header, token) => {
    try {
      return await keys(header, token);
    } catch (err) {
      // No key for this kid/alg, or several: the token's doing. Anything else (timeout, not 200, not a key set): the provider's.
      if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys || err instanceof errors.JOSENotSupported) throw err;
      throw new TokenKeysUnavailable(`The identity provider's keys could not be fetched: ${(err as Error).message}`, { cause: err });
    }
  };
}

async function verified(
  token: string,
  key: Uint8Array | JWTVerifyGetKey,
  options: JWTVerifyOptions,
  claims: { subject: string; role: string },
  now?: Date,
): Promise<Principal> {
  let payload: JWTPayload;
  try {
    const settings = { ...options, requiredClaims: ['exp'], clockTolerance: CLOCK_TOLERANCE_SECONDS, currentDate: now };
    ({ payload } = typeof key === 'function' ? await jwtVerify(token, key, settings) : await jwtVerify(token, key, settings));
  } catch (err) {
    if (err instanceof errors.JWTExpired) throw new InvalidToken('expired', true);
    if (err instanceof errors.JOSEError) throw new InvalidToken(err.message);
    throw err;
  }
  const sub = idSchema.safeParse(claimAt(payload, claims.subject));
  if (!sub.success) throw new InvalidToken(`the "${claims.subject}" claim is not a valid id`);
  const role = roleOf(claimAt(payload, claims.role));
  if (!role) throw new InvalidToken(`the "${claims.role}" claim names neither role: ${ROLES.join(', ')}`);
  return { sub: sub.data, role };
}

const claimValueSchema = z.union([z.string(), z.array(z.unknown())]);

/** A claim by its name, or by a dotted path into nested objects when no claim has that very name (`realm_access.roles`). */
function claimAt(payload: JWTPayload, name: string): unknown {
  if (Object.hasOwn(payload, name)) return payload[name];
  return name
    .split('.')
    .reduce<unknown>(
      (at, key) => (typeof at === 'object' && at !== null && Object.hasOwn(at, key) ? (at as Record<string, unknown>)[key] : undefined),
      payload,
    );
}

/** The role a claim grants: a role's name, or an array naming one or both (then `admin`). */
function roleOf(claim: unknown): Role | undefined {
  const value = claimValueSchema.safeParse(claim);
  if (!value.success) return undefined;
  const names: unknown[] = typeof value.data === 'string' ? [value.data] : value.data;
  return names.includes('admin') ? 'admin' : names.includes('customer') ? 'customer' : undefined;
}
