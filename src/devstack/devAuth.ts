import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { assertUsableSecret, signToken, type TokenSettings } from '../auth/tokens';

/**
 * The token secret of a development machine: AUTH_SECRET when set, else one generated into the
 * data folder on first use (readable by the owner only), so tokens survive `npm start` restarts.
 */
export function devAuthSecret(dataDir: string, configured: string | undefined): string {
  if (configured) return configured;
  const file = path.join(dataDir, 'auth-secret');
  try {
    const stored = readFileSync(file, 'utf8').trim();
    assertUsableSecret(stored);
    return stored;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`${file} is not a usable token secret: delete it to get a new one`, { cause: err });
  }
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  return secret;
}

const DEV_TOKEN_TTL_SECONDS = 30 * 24 * 3600;

/**
 * What `npm start` and `start:cluster` print about tokens. Development only: with a secret,
 * ready-made tokens (30 days) so the API can be tried at once (`npm run token` makes more).
 */
export async function devTokenLines(tokens: TokenSettings): Promise<string[]> {
  if (!('secret' in tokens)) {
    return [`Tokens: from the identity provider at ${tokens.identityProvider.issuer} (audience ${tokens.identityProvider.audience}).`];
  }
  return [
    'Tokens (Authorization: Bearer …), valid 30 days:',
    `  ADMIN_TOKEN=${await signToken(tokens.secret, { sub: 'admin', role: 'admin' }, DEV_TOKEN_TTL_SECONDS)}`,
    `  ALICE_TOKEN=${await signToken(tokens.secret, { sub: 'alice', role: 'customer' }, DEV_TOKEN_TTL_SECONDS)}`,
  ];
}
