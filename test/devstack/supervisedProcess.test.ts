import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SupervisedProcess, type UnexpectedExit } from '../../src/devstack/supervisedProcess';

describe('SupervisedProcess', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'supervised-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('a command that cannot be started is reported and logged once, not thrown, and not retried', async () => {
    const exits: UnexpectedExit[] = [];
    const logFile = path.join(dir, 'missing.log');
    const missing = new SupervisedProcess('missing', {
      command: path.join(dir, 'no-such-binary'),
      args: [],
      cwd: dir,
      env: process.env,
      logFile,
      onUnexpectedExit: (exit) => exits.push(exit),
    });
    missing.start();
    await new Promise((resolve) => setTimeout(resolve, 1500)); // past the supervisor's 1 s restart delay
    expect(exits).toEqual([expect.objectContaining({ name: 'missing', code: null, signal: null })]);
    expect(readFileSync(logFile, 'utf8')).toMatch(/could not start .*no-such-binary: spawn .* ENOENT/);
    expect(missing.running).toBe(false);
    await missing.stop('SIGTERM');
  });

  test('a process that dies on its own is restarted; one stopped on purpose is not', async () => {
    const exits: UnexpectedExit[] = [];
    const sleeper = new SupervisedProcess('sleeper', {
      command: 'sleep',
      args: ['30'],
      cwd: dir,
      env: process.env,
      logFile: path.join(dir, 'sleeper.log'),
      onUnexpectedExit: (exit) => exits.push(exit),
    });
    sleeper.start();
    process.kill(sleeper.pid!, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(exits).toEqual([expect.objectContaining({ name: 'sleeper', signal: 'SIGKILL' })]);
    expect(sleeper.running).toBe(true);
    await sleeper.stop('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect({ running: sleeper.running, exits: exits.length }).toEqual({ running: false, exits: 1 });
  });
});
