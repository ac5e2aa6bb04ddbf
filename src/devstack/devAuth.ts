import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { assertUsableSecret, signToken } from '../auth/tokens';

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

/** Development only: ready-made tokens (30 days) so the API can be tried at once; `npm run token` makes more. */
export function devTokenLines(secret: string): string[] {
  return [
    'Tokens (Authorization: Bearer …), valid 30 days:',
    `  ADMIN_TOKEN=${signToken(secret, { sub: 'admin', role: 'admin' }, DEV_TOKEN_TTL_SECONDS)}`,
    `  ALICE_TOKEN=${signToken(secret, { sub: 'alice', role: 'customer' }, DEV_TOKEN_TTL_SECONDS)}`,
  ];
}
