import { createHmac } from 'node:crypto';
import { InvalidToken, signToken, tokenVerifier } from '../../src/auth/tokens';

const secret = 'a-test-secret-that-is-long-enough-0123456789';
const verify = tokenVerifier({ secret });
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const hs = (algorithm: string, key: string, input: string) => createHmac(algorithm, key).update(input).digest('base64url');
/** A token signed by hand, so the header and claims can be anything. */
const handSigned = (header: unknown, claims: unknown, algorithm = 'sha256') => {
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${hs(algorithm, secret, input)}`;
};
const inAMinute = () => Math.floor(Date.now() / 1000) + 60;

describe('bearer tokens the service signs (HS256, development and tests)', () => {
  test('a signed token verifies to its principal', async () => {
    await expect(verify(await signToken(secret, { sub: 'alice', role: 'customer' }))).resolves.toEqual({ sub: 'alice', role: 'customer' });
    await expect(verify(await signToken(secret, { sub: 'ops', role: 'admin' }))).resolves.toEqual({ sub: 'ops', role: 'admin' });
  });

  test('a token signed with another secret, or with a changed payload, is refused', async () => {
    await expect(verify(await signToken(`${secret}-other`, { sub: 'alice', role: 'customer' }))).rejects.toThrow(InvalidToken);
    const [header, , sig] = (await signToken(secret, { sub: 'alice', role: 'customer' })).split('.');
    const promoted = b64({ sub: 'alice', role: 'admin', exp: inAMinute() });
    await expect(verify(`${header}.${promoted}.${sig}`)).rejects.toThrow('signature verification failed');
  });

  test('an expired token is refused as expired; one still in its lifetime is not', async () => {
    const issuedAt = Date.now() - 120_000;
    const token = await signToken(secret, { sub: 'alice', role: 'customer' }, 60, issuedAt);
    await expect(verify(token)).rejects.toEqual(expect.objectContaining({ expired: true }));
    await expect(verify(token, new Date(issuedAt + 59_000))).resolves.toEqual({ sub: 'alice', role: 'customer' });
  });

  test('alg "none" and other algorithms are refused even when the HMAC matches', async () => {
    const claims = { sub: 'alice', role: 'admin', exp: inAMinute() };
    await expect(verify(`${b64({ alg: 'none' })}.${b64(claims)}.`)).rejects.toThrow(InvalidToken);
    await expect(verify(handSigned({ alg: 'HS512', typ: 'JWT' }, claims, 'sha512'))).rejects.toThrow('"alg" (Algorithm) Header Parameter value not allowed');
    await expect(verify(handSigned({ alg: 'HS256', typ: 'JWT' }, claims))).resolves.toEqual({ sub: 'alice', role: 'admin' });
  });

  test('claims must name a valid subject, a known role and an expiry', async () => {
    const exp = inAMinute();
    for (const claims of [{ sub: 'alice', role: 'root', exp }, { sub: 'bad id', role: 'customer', exp }, { sub: 'alice', role: 'customer' }, 'just text']) {
      await expect(verify(handSigned({ alg: 'HS256' }, claims))).rejects.toThrow(InvalidToken);
    }
    await expect(verify('not-a-jwt')).rejects.toThrow(InvalidToken);
  });

  test('a short secret is refused when signing and when verifying', async () => {
    await expect(signToken('too-short', { sub: 'alice', role: 'customer' })).rejects.toThrow(/at least 32 characters/);
    expect(() => tokenVerifier({ secret: 'too-short' })).toThrow(/at least 32 characters/);
  });
});
