import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { ChaosReport } from '../../chaos/report';
import { throwawayDataDir } from '../../src/devstack/throwawayDataDir';

/**
 * `npm run chaos` at CI size, run as the real command: it starts its own stack (embedded Postgres,
 * the Temporal dev server, worker and API processes on free ports; the shared test stack is not
 * touched) and writes its report, which the tests below read, one per fault. A child process also
 * keeps embedded Postgres (ESM-only) out of jest's module system.
 */
const ORDERS = 20;
/**
 * About 2 minutes on a quiet 2-core machine, over 3 when the rest of the suite runs beside it on
 * a loaded one: room for both, since a scenario that does not start in time fails the test.
 */
const TIME_LIMIT_MS = 420_000;
const ROOT = path.join(__dirname, '..', '..');

let runner: ChildProcess | undefined;
let report: ChaosReport;
let output = '';
const resultsDir = throwawayDataDir('chaos-results');

beforeAll(async () => {
  runner = spawn(process.execPath, ['--import', 'tsx', 'chaos/run.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      CHAOS_ORDERS: String(ORDERS),
      CHAOS_SEED: '7',
      CHAOS_PG_DOWN_MS: '3000',
      CHAOS_TIME_LIMIT_MS: String(TIME_LIMIT_MS),
      CHAOS_RESULTS_DIR: resultsDir,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  runner.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  runner.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => runner!.on('exit', resolve));
  // 0 passed, 1 some scenario failed (the tests say which); anything else: no report.
  if (code !== 0 && code !== 1) throw new Error(`npm run chaos exited with ${code}:\n${output.slice(-4000)}`);
  report = JSON.parse(readFileSync(path.join(resultsDir, 'latest.json'), 'utf8')) as ChaosReport;
}, TIME_LIMIT_MS + 60_000);

afterAll(async () => {
  // On a jest timeout the runner is still going: SIGINT makes it stop the stack it started.
  if (runner && runner.exitCode === null && runner.signalCode === null) {
    const exited = new Promise((resolve) => runner!.on('exit', resolve));
    runner.kill('SIGINT');
    await exited;
  }
  rmSync(resultsDir, { recursive: true, force: true });
}, 60_000);

test.each([
  ['worker-kill', 'the worker is SIGKILLed 3 times'],
  ['postgres-stop', 'Postgres is stopped and started'],
  ['api-kill', 'the API is SIGKILLed mid-request and clients retry with the same Idempotency-Key'],
  ['temporal-restart', 'the Temporal dev server restarts on its SQLite file'],
])('%s: every checkout settles and every invariant holds when %s', (slug) => {
  const result = report.results.find((r) => r.slug === slug);
  expect(result).toBeDefined();
  // The notes say what went wrong (unsettled orders, violations, bad answers): show them on failure.
  expect({ completed: result!.completed, violations: result!.violations, badAnswers: result!.badAnswers, notes: result!.passed ? [] : result!.notes }).toEqual({
    completed: ORDERS,
    violations: 0,
    badAnswers: 0,
    notes: [],
  });
  expect(result!.recoveryMs.every((ms) => ms !== null)).toBe(true);
});
