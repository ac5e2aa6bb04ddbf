import path from 'node:path';
import { findGo, goBinCacheDir, goInstall, goModuleDir, isExecutable } from './goInstall';

/**
 * The Temporal server as separate binaries, for the production shape on this machine: the server
 * the CLI v1.5.1 embeds (so dev server and cluster run the same engine), its SQL schema tool, and
 * the Web UI server the CLI embeds. docker-compose.yml names the same versions (a test checks).
 */
export const TEMPORAL_SERVER_VERSION = 'v1.29.1';
export const TEMPORAL_UI_SERVER_VERSION = 'v2.42.1';
const SERVER_MODULE = 'go.temporal.io/server';
const UI_MODULE = 'github.com/temporalio/ui-server/v2';

export interface TemporalServerBinaries {
  server: string;
  sqlTool: string;
  uiServer: string;
  /** The module's schema/postgresql/v12 folder, which the schema tool applies. */
  postgresSchemaDir: string;
}

/** Finds the binaries in the per-user cache, building what is missing with Go (minutes, the first time). */
export async function ensureTemporalServerBinaries(options: { env?: NodeJS.ProcessEnv; log: (line: string) => void }): Promise<TemporalServerBinaries> {
  const env = options.env ?? process.env;
  const go = findGo(env);
  if (!go) throw new Error('The cluster needs Go to build the Temporal server (https://go.dev/dl/); no `go` on PATH or in /usr/local/go/bin.');
  const serverDir = goBinCacheDir(`temporal-server-${TEMPORAL_SERVER_VERSION.slice(1)}`, env);
  // Both ui-server's and the server's main packages are called `server`: separate folders.
  const uiDir = goBinCacheDir(`temporal-ui-server-${TEMPORAL_UI_SERVER_VERSION.slice(1)}`, env);
  const binaries = {
    server: path.join(serverDir, 'server'),
    sqlTool: path.join(serverDir, 'sql'),
    uiServer: path.join(uiDir, 'server'),
  };
  if (!isExecutable(binaries.server) || !isExecutable(binaries.sqlTool)) {
    const packages = ['cmd/server', 'cmd/tools/sql'].map((cmd) => `${SERVER_MODULE}/${cmd}@${TEMPORAL_SERVER_VERSION}`);
    await goInstall({ go, packages, dir: serverDir, what: `the Temporal server ${TEMPORAL_SERVER_VERSION} and its schema tool`, env, log: options.log });
  }
  if (!isExecutable(binaries.uiServer)) {
    await goInstall({
      go,
      packages: [`${UI_MODULE}/cmd/server@${TEMPORAL_UI_SERVER_VERSION}`],
      dir: uiDir,
      what: `the Temporal Web UI server ${TEMPORAL_UI_SERVER_VERSION}`,
      env,
      log: options.log,
    });
  }
  const schemaDir = path.join(goModuleDir(go, SERVER_MODULE, TEMPORAL_SERVER_VERSION, env), 'schema', 'postgresql', 'v12');
  return { ...binaries, postgresSchemaDir: schemaDir };
}
