import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { idSchema } from '../workflows/orderContract';

/**
 * Bearer tokens: compact JWTs signed with HS256 (RFC 7519) and a secret from the environment.
 * `customer` tokens act for the customer in `sub`; `admin` tokens run the shop. No library: the
 * format is three base64url parts and one HMAC, and only HS256 is accepted (never `none`).
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

const HEADER = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));

const claimsSchema = z.object({
  sub: idSchema,
  role: z.enum(ROLES),
  iat: z.number().int().nonnegative().optional(),
  exp: z.number().int().positive(),
});

export class InvalidToken extends Error {}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

function signature(secret: string, signingInput: string): Buffer {
  return createHmac('sha256', secret).update(signingInput).digest();
}

export function assertUsableSecret(secret: string | undefined): asserts secret is string {
  if (!secret || secret.length < MIN_SECRET_LENGTH) {
    throw new Error(`AUTH_SECRET must be at least ${MIN_SECRET_LENGTH} characters (for example: openssl rand -base64 48).`);
  }
}

/** A token for `principal`, valid for `ttlSeconds` from `now`. */
export function signToken(secret: string, principal: Principal, ttlSeconds = 3600, now = Date.now()): string {
  assertUsableSecret(secret);
  const iat = Math.floor(now / 1000);
  const payload = base64url(JSON.stringify({ sub: principal.sub, role: principal.role, iat, exp: iat + ttlSeconds }));
  const signingInput = `${HEADER}.${payload}`;
  return `${signingInput}.${signature(secret, signingInput).toString('base64url')}`;
}

/** The principal a token speaks for; InvalidToken when it is malformed, forged, or expired. */
export function verifyToken(secret: string, token: string, now = Date.now()): Principal {
  const parts = token.split('.');
  if (parts.length !== 3) throw new InvalidToken('not a JWT');
  const [header, payload, sig] = parts as [string, string, string];
  const expected = signature(secret, `${header}.${payload}`);
  const given = Buffer.from(sig, 'base64url');
  // Node decodes base64url leniently (padding, spare bits): accept only the one spelling we issue.
  if (given.toString('base64url') !== sig) throw new InvalidToken('bad signature');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new InvalidToken('bad signature');
  // The signature is ours, so the header is too; still insist on the one algorithm we sign with.
  if (parseJson(header)?.alg !== 'HS256') throw new InvalidToken('unsupported algorithm');
  const claims = claimsSchema.safeParse(parseJson(payload));
  if (!claims.success) throw new InvalidToken('bad claims');
  if (claims.data.exp * 1000 <= now) throw new InvalidToken('expired');
  return { sub: claims.data.sub, role: claims.data.role };
}

function parseJson(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
