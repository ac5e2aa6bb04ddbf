import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * A fresh folder for a throwaway dev stack (tests, recordings, benchmarks). mkdtemp makes it
 * 0700; as root, embedded Postgres runs as the `postgres` user, which must be able to enter it.
 */
export function throwawayDataDir(purpose: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `order-actors-${purpose}-`));
  chmodSync(dir, 0o755);
  return dir;
}
