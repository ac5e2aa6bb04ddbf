import { execFileSync, spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';

/** The per-user cache our Go-built binaries live in, one folder per tool and version: never the repo. */
export function goBinCacheDir(folder: string, env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME || path.join(homedir(), '.cache');
  return path.join(base, 'order-actors', folder);
}

export function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function onPath(binary: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, binary))) return path.join(dir, binary);
  }
  return undefined;
}

/** The Go toolchain: on PATH or where the official tarball puts it. */
export function findGo(env: NodeJS.ProcessEnv): string | undefined {
  return onPath('go', env) ?? (isExecutable('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
}

/**
 * Runs `go install pkg@version…` into `dir`, streaming Go's progress and a heartbeat, so a first
 * build of several minutes is visibly alive.
 */
export async function goInstall(options: {
  go: string;
  packages: string[];
  dir: string;
  what: string;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
}): Promise<void> {
  const { go, dir, env, log } = options;
  mkdirSync(dir, { recursive: true });
  // Report the machine's module settings instead of overriding them: checksum verification stays as configured.
  const settings = execFileSync(go, ['env', 'GOPROXY', 'GOSUMDB', 'GOFLAGS'], { encoding: 'utf8' }).trim().split('\n');
  log(`Building ${options.what} with Go into ${dir} (first time only, takes a few minutes)`);
  log(`Go module settings: GOPROXY=${settings[0]} GOSUMDB=${settings[1]} GOFLAGS=${settings[2] || '(none)'}`);
  const started = Date.now();
  const ticker = setInterval(() => log(`  still building... ${Math.round((Date.now() - started) / 1000)}s`), 15_000);
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(go, ['install', ...options.packages], { env: { ...env, GOBIN: dir }, stdio: ['ignore', 'inherit', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        const text = chunk.toString();
        stderr += text;
        for (const line of text.split('\n')) if (line.trim()) log(`  ${line.trim()}`);
      });
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`go install failed (exit ${code}): ${stderr.slice(-2000)}`))));
    });
  } finally {
    clearInterval(ticker);
  }
  log(`Built ${options.what} in ${Math.round((Date.now() - started) / 1000)}s`);
}

/** A module's source folder in the module cache, downloaded if absent: the server's schema files live there. */
export function goModuleDir(go: string, modulePath: string, version: string, env: NodeJS.ProcessEnv): string {
  const info = JSON.parse(execFileSync(go, ['mod', 'download', '-json', `${modulePath}@${version}`], { encoding: 'utf8', env, cwd: tmpdir() })) as {
    Dir?: string;
    Error?: string;
  };
  if (!info.Dir) throw new Error(`go mod download ${modulePath}@${version} failed: ${info.Error ?? 'no folder'}`);
  return info.Dir;
}
