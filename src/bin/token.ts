/**
 * `npm run token -- --role customer --sub alice [--ttl 3600]`: prints a bearer token signed with
 * AUTH_SECRET, or in development with the secret `npm start` keeps in DATA_DIR.
 */
import { mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ROLES, signToken } from '../auth/tokens';
import { loadConfig } from '../config';
import { devAuthSecret } from '../devstack/devAuth';
import { idSchema } from '../workflows/orderContract';

const argsSchema = z.object({
  role: z.enum(ROLES),
  sub: idSchema,
  ttl: z.coerce
    .number()
    .int()
    .min(1)
    .max(366 * 24 * 3600)
    .default(3600),
});

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { role: { type: 'string' }, sub: { type: 'string' }, ttl: { type: 'string' } } });
  const parsed = argsSchema.safeParse(values);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`${problems}\nusage: npm run token -- --role customer|admin --sub <id> [--ttl <seconds>]`);
  }
  const config = loadConfig();
  if (config.AUTH_JWKS_URL !== undefined) throw new Error("AUTH_JWKS_URL is set: the API accepts only the identity provider's tokens; get one from it.");
  mkdirSync(config.DATA_DIR, { recursive: true });
  const secret = devAuthSecret(config.DATA_DIR, config.AUTH_SECRET);
  process.stdout.write(`${await signToken(secret, { sub: parsed.data.sub, role: parsed.data.role }, parsed.data.ttl)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`token: ${(err as Error).message}\n`);
  process.exit(1);
});
