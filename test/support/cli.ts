import { spawn } from 'node:child_process';
import path from 'node:path';
import { testEnv } from './harness';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a src/bin entry point as its own process against the test run's Postgres and Temporal (new
 * actors on the shared worker's queue), as an operator runs `npm run …`; stdout is not a terminal.
 */
export function runCli(bin: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', `src/bin/${bin}.ts`, ...args], {
      cwd: path.resolve(__dirname, '../..'),
      env: { ...process.env, DATABASE_URL: testEnv.databaseUrl, TEMPORAL_ADDRESS: testEnv.temporalAddress, TASK_QUEUE: testEnv.taskQueue, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
