import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { ChaosReport } from '../../chaos/report';
import { throwawayDataDir } from '../../src/devstack/throwawayDataDir';

const ROOT = path.join(__dirname, '..', '..');

/**
 * Runs `npm run chaos` as the real command in the suite's `beforeAll` (it starts its own stack on
 * free ports; the shared test stack is not touched) and hands its report to the tests, which
 * check one fault each. A child process also keeps embedded Postgres (ESM-only) out of jest's
 * module system. On a jest timeout `afterAll` sends SIGINT, which makes it stop what it started.
 */
export function useChaosRun(options: { env: NodeJS.ProcessEnv; timeLimitMs: number }): () => ChaosReport {
  let runner: ChildProcess | undefined;
  let report: ChaosReport | undefined;
  let output = '';
  const resultsDir = throwawayDataDir('chaos-results');

  beforeAll(async () => {
    runner = spawn(process.execPath, ['--import', 'tsx', 'chaos/run.ts'], {
      cwd: ROOT,
      env: { ...process.env, ...options.env, CHAOS_TIME_LIMIT_MS: String(options.timeLimitMs), CHAOS_RESULTS_DIR: resultsDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    runner.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    runner.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => runner!.on('exit', resolve));
    // 0 passed, 1 some scenario failed (the tests say which); anything else: no report.
    if (code !== 0 && code !== 1) throw new Error(`npm run chaos exited with ${code}:\n${output.slice(-4000)}`);
    report = JSON.parse(readFileSync(path.join(resultsDir, 'latest.json'), 'utf8')) as ChaosReport;
  }, options.timeLimitMs + 60_000);

  afterAll(async () => {
    if (runner && runner.exitCode === null && runner.signalCode === null) {
      const exited = new Promise((resolve) => runner!.on('exit', resolve));
      runner.kill('SIGINT');
      await exited;
    }
    rmSync(resultsDir, { recursive: true, force: true });
  }, 60_000);

  return () => {
    if (!report) throw new Error('the chaos run gave no report');
    return report;
  };
}

/** The fault's scenario settled every order, with no violation, no bad answer, and a recovery for each blow. */
export function expectScenarioPassed(report: ChaosReport, slug: string, orders: number): void {
  const result = report.results.find((r) => r.slug === slug);
  expect(result).toBeDefined();
  // The notes say what went wrong (unsettled orders, violations, bad answers): show them on failure.
  expect({ completed: result!.completed, violations: result!.violations, badAnswers: result!.badAnswers, notes: result!.passed ? [] : result!.notes }).toEqual({
    completed: orders,
    violations: 0,
    badAnswers: 0,
    notes: [],
  });
  expect(result!.recoveryMs.every((ms) => ms !== null)).toBe(true);
}
