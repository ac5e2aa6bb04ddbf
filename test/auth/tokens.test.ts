import { createHmac } from 'node:crypto';
import { InvalidToken, signToken, verifyToken } from '../../src/auth/tokens';

const secret = 'a-test-secret-that-is-long-enough-0123456789';
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const hs256 = (key: string, input: string) => createHmac('sha256', key).update(input).digest('base64url');

describe('bearer tokens (HS256)', () => {
  test('a signed token verifies to its principal', () => {
    expect(verifyToken(secret, signToken(secret, { sub: 'alice', role: 'customer' }))).toEqual({ sub: 'alice', role: 'customer' });
    expect(verifyToken(secret, signToken(secret, { sub: 'ops', role: 'admin' }))).toEqual({ sub: 'ops', role: 'admin' });
  });

  test('a token signed with another secret, or with a changed payload, is refused', () => {
    const other = signToken(`${secret}-other`, { sub: 'alice', role: 'customer' });
    expect(() => verifyToken(secret, other)).toThrow(InvalidToken);
    const [header, , sig] = signToken(secret, { sub: 'alice', role: 'customer' }).split('.');
    const promoted = b64({ sub: 'alice', role: 'admin', exp: Math.floor(Date.now() / 1000) + 60 });
    expect(() => verifyToken(secret, `${header}.${promoted}.${sig}`)).toThrow('bad signature');
  });

  test('only the signature spelling we issue verifies (no padding, no altered spare bits)', () => {
    const token = signToken(secret, { sub: 'alice', role: 'customer' });
    expect(() => verifyToken(secret, `${token}=`)).toThrow('bad signature');
    const last = token.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    // A 32-byte HMAC in base64url ends in a character whose lowest 2 bits are spare.
    const sameBytes = alphabet[(alphabet.indexOf(last) & ~3) | ((alphabet.indexOf(last) + 1) & 3)]!;
    expect(Buffer.from(`${token.slice(0, -1)}${sameBytes}`.split('.')[2]!, 'base64url')).toEqual(Buffer.from(token.split('.')[2]!, 'base64url'));
    expect(() => verifyToken(secret, `${token.slice(0, -1)}${sameBytes}`)).toThrow('bad signature');
  });

  test('an expired token is refused; one still in its lifetime is not', () => {
    const issuedAt = Date.now() - 120_000;
    const token = signToken(secret, { sub: 'alice', role: 'customer' }, 60, issuedAt);
    expect(() => verifyToken(secret, token)).toThrow('expired');
    expect(verifyToken(secret, token, issuedAt + 59_000)).toEqual({ sub: 'alice', role: 'customer' });
  });

  test('alg "none" and other algorithms are refused even when the HMAC matches', () => {
    const claims = b64({ sub: 'alice', role: 'admin', exp: Math.floor(Date.now() / 1000) + 60 });
    expect(() => verifyToken(secret, `${b64({ alg: 'none' })}.${claims}.`)).toThrow(InvalidToken);
    const header = b64({ alg: 'HS512', typ: 'JWT' });
    expect(() => verifyToken(secret, `${header}.${claims}.${hs256(secret, `${header}.${claims}`)}`)).toThrow('unsupported algorithm');
  });

  test('claims must name a valid subject, a known role and an expiry', () => {
    const header = b64({ alg: 'HS256', typ: 'JWT' });
    const exp = Math.floor(Date.now() / 1000) + 60;
    for (const claims of [{ sub: 'alice', role: 'root', exp }, { sub: 'bad id', role: 'customer', exp }, { sub: 'alice', role: 'customer' }, 'just text']) {
      const payload = b64(claims);
      expect(() => verifyToken(secret, `${header}.${payload}.${hs256(secret, `${header}.${payload}`)}`)).toThrow('bad claims');
    }
    expect(() => verifyToken(secret, 'not-a-jwt')).toThrow('not a JWT');
  });

  test('a short secret is refused when signing', () => {
    expect(() => signToken('too-short', { sub: 'alice', role: 'customer' })).toThrow(/at least 32 characters/);
  });
});
