import path from 'node:path';
import { findGo, goBinCacheDir, goInstall, isExecutable, onPath } from './goInstall';

/**
 * Finds the Temporal CLI (which carries the dev server), building it from source when absent.
 *
 * Order: TEMPORAL_CLI_PATH, `temporal` on PATH, the per-user cache, a `go install` into that cache.
 * v1.5.1 is pinned because it is the newest tag whose go.mod has no replace directive, which
 * `go install pkg@version` refuses.
 */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
const GO_PACKAGE = 'github.com/temporalio/cli/cmd/temporal';

export type CliLocation =
  | { kind: 'path'; path: string; source: 'TEMPORAL_CLI_PATH' | 'PATH' | 'cache' | 'built' }
  /** No binary and no Go: let the Temporal SDK download the dev server (needs the internet). */
  | { kind: 'sdk-download' };

export function cliCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return goBinCacheDir(`temporal-${TEMPORAL_CLI_VERSION.slice(1)}`, env);
}

/** The binary we can use without building anything, if any. */
export function findTemporalCli(env: NodeJS.ProcessEnv = process.env): CliLocation | undefined {
  if (env.TEMPORAL_CLI_PATH) {
    if (!isExecutable(env.TEMPORAL_CLI_PATH)) {
      throw new Error(`TEMPORAL_CLI_PATH=${env.TEMPORAL_CLI_PATH} is not an executable file`);
    }
    return { kind: 'path', path: env.TEMPORAL_CLI_PATH, source: 'TEMPORAL_CLI_PATH' };
  }
  const fromPath = onPath('temporal', env);
  if (fromPath) return { kind: 'path', path: fromPath, source: 'PATH' };
  const cached = path.join(cliCacheDir(env), 'temporal');
  if (isExecutable(cached)) return { kind: 'path', path: cached, source: 'cache' };
  return undefined;
}

const WAYS_OUT =
  'Ways out: install the Temporal CLI and put `temporal` on PATH (or set TEMPORAL_CLI_PATH), ' +
  'point TEMPORAL_ADDRESS at a running Temporal server, or run the production shape with `docker compose up`.';

async function buildWithGo(go: string, env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<string> {
  const dir = cliCacheDir(env);
  await goInstall({ go, packages: [`${GO_PACKAGE}@${TEMPORAL_CLI_VERSION}`], dir, what: `the Temporal CLI ${TEMPORAL_CLI_VERSION}`, env, log });
  return path.join(dir, 'temporal');
}

/**
 * Returns a usable CLI: found, or built with Go; with no Go, the SDK's own download, which only
 * works where the internet is reachable (`allowDownload`).
 */
export async function ensureTemporalCli(
  options: { env?: NodeJS.ProcessEnv; log?: (line: string) => void; allowDownload?: boolean } = {},
): Promise<CliLocation> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const found = findTemporalCli(env);
  if (found) return found;
  const go = findGo(env);
  if (go) {
    try {
      return { kind: 'path', path: await buildWithGo(go, env, log), source: 'built' };
    } catch (err) {
      throw new Error(`Could not build the Temporal CLI: ${(err as Error).message}\n${WAYS_OUT}`, { cause: err });
    }
  }
  if (options.allowDownload ?? true) {
    log('No Temporal CLI and no Go toolchain: falling back to the Temporal SDK download (needs the internet).');
    return { kind: 'sdk-download' };
  }
  throw new Error(`No Temporal CLI found and no Go toolchain to build it. ${WAYS_OUT}`);
}
