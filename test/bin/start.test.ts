import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../../src/devstack/freePort';
import { throwawayDataDir } from '../../src/devstack/throwawayDataDir';

const ROOT = path.join(__dirname, '..', '..');

/** Processes whose command line names this data folder: the Postgres and dev server `start` launched. */
function processesUsing(dataDir: string): string[] {
  const lines = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).split('\n');
  return lines.filter((line) => line.includes(dataDir) && !line.includes('ps -eo'));
}

async function startService(dataDir: string): Promise<{ child: ChildProcess; apiUrl: string; output: () => string }> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATA_DIR: dataDir,
    PORT: '0',
    TEMPORAL_PORT: String(await freePort()),
    EMBEDDED_PG_PORT: String(await freePort()),
    TEMPORAL_UI_PORT: String(await freePort()),
    LOG_LEVEL: 'warn',
  };
  delete env.DATABASE_URL;
  delete env.TEMPORAL_ADDRESS;
  // Its own process group, like a terminal's foreground job, so Ctrl-C can be sent to all of it.
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/bin/start.ts'], { cwd: ROOT, env, detached: true });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const apiUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready in 60 s:\n${output}`)), 60_000);
    // Everything is printed, the demo order placed, once it says how to stop.
    const check = () => {
      const match = /Press Ctrl-C to stop/.test(output) && /API:\s+(http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout.on('data', check);
    child.on('exit', (code) => reject(new Error(`start exited with ${code}:\n${output}`)));
  });
  return { child, apiUrl, output: () => output };
}

/** Readiness is a probe: the worker's first poll reaches the server a moment after start. */
async function waitUntilReady(apiUrl: string): Promise<number> {
  let status = 0;
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
    status = (await fetch(`${apiUrl}/readyz`)).status;
    if (status === 200) break;
  }
  return status;
}

/** The tokens start prints, and those `npm run token` makes from the same data folder, are real. */
async function expectPrintedTokensWork(apiUrl: string, output: string, dataDir: string): Promise<void> {
  const printed = (name: string) => new RegExp(`${name}=(\\S+)`).exec(output)?.[1];
  const status = async (path: string, token?: string) => (await fetch(apiUrl + path, { headers: token ? { authorization: `Bearer ${token}` } : {} })).status;
  const admin = printed('ADMIN_TOKEN');
  // The printed console address serves the page that asks for that token.
  const page = await fetch(/Console:\s+(http:\/\/\S+)/.exec(output)![1]!);
  expect({ status: page.status, type: page.headers.get('content-type') }).toEqual({ status: 200, type: expect.stringMatching(/^text\/html/) });
  const alice = printed('ALICE_TOKEN');
  // The demo order the console shows first: alice's, checked out through the API.
  const demo = /Demo order:\s+(http:\/\/\S+#\/order\/(\S+))/.exec(output);
  expect(demo).not.toBeNull();
  const order = (await (await fetch(`${apiUrl}/orders/${demo![2]}`, { headers: { authorization: `Bearer ${alice}` } })).json()) as { status: string };
  expect(order.status).toBe('CONFIRMED');
  expect({ admin: await status('/admin/projections', admin), alice: await status('/customers/alice/orders', alice) }).toEqual({ admin: 200, alice: 200 });
  expect({ anonymous: await status('/admin/projections'), alice: await status('/admin/projections', alice) }).toEqual({ anonymous: 401, alice: 403 });
  const minted = execFileSync(process.execPath, ['--import', 'tsx', 'src/bin/token.ts', '--role', 'customer', '--sub', 'bob'], {
    cwd: ROOT,
    env: { ...process.env, DATA_DIR: dataDir },
    encoding: 'utf8',
  }).trim();
  expect({ own: await status('/customers/bob/orders', minted), alices: await status('/customers/alice/orders', minted) }).toEqual({ own: 200, alices: 404 });
}

/** 'close', not 'exit': only once the child's output is closed has all it printed been read. */
function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null && child.stdout?.destroyed ? resolve(child.exitCode) : child.on('close', (code) => resolve(code))));
}

describe('npm start stops everything it started', () => {
  let dataDir: string;
  let started: ChildProcess | undefined;
  beforeEach(() => {
    dataDir = throwawayDataDir('start');
  });
  afterEach(() => {
    // Whatever happened in the test, leave nothing running.
    if (started?.exitCode === null) process.kill(-started.pid!, 'SIGKILL');
    for (const line of processesUsing(dataDir)) process.kill(Number(line.trim().split(/\s+/)[0]), 'SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  test.each([
    ['SIGTERM to the process', (child: ChildProcess) => child.kill('SIGTERM')],
    ['Ctrl-C (SIGINT to the whole process group)', (child: ChildProcess) => process.kill(-child.pid!, 'SIGINT')],
  ])(
    '%s',
    async (_name, stop) => {
      const service = await startService(dataDir);
      started = service.child;
      expect(await waitUntilReady(service.apiUrl)).toBe(200);
      expect(processesUsing(dataDir).length).toBeGreaterThanOrEqual(2); // postgres and the dev server
      await expectPrintedTokensWork(service.apiUrl, service.output(), dataDir);

      stop(service.child);
      expect(await exited(service.child)).toBe(0);
      expect(service.output()).toContain('Stopped.');
      expect(processesUsing(dataDir)).toEqual([]);
    },
    120_000,
  );
});
