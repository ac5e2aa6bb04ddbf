import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, openSync } from 'node:fs';

export interface ProcessSpec {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** stdout and stderr are appended here, across restarts. */
  logFile: string;
  /** Told of each exit nobody asked for, before the restart. */
  onUnexpectedExit?: (exit: UnexpectedExit) => void;
}

export interface UnexpectedExit {
  name: string;
  at: number;
  code: number | null;
  signal: NodeJS.Signals | null;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One service of the chaos stack or the local cluster as a child process, started again with the same command after
 * a fault. Like a container orchestrator, it restarts a process that exits on its own (after 1 s)
 * and records that exit: a crash nobody injected is a finding.
 */
export class SupervisedProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  /** False while we stop it on purpose (a fault or the end of the run). */
  private wanted = false;
  readonly unexpectedExits: UnexpectedExit[] = [];

  constructor(
    readonly name: string,
    private readonly spec: ProcessSpec,
  ) {}

  get pid(): number | undefined {
    return this.running ? this.child!.pid : undefined;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    if (this.running) throw new Error(`${this.name} is already running`);
    this.wanted = true;
    const log = openSync(this.spec.logFile, 'a');
    try {
      const child = spawn(this.spec.command, this.spec.args, { cwd: this.spec.cwd, env: this.spec.env, stdio: ['ignore', log, log] });
      this.child = child;
      this.exited = new Promise((resolve) => {
        child.once('exit', (code, signal) => {
          resolve();
          if (this.wanted && this.child === child) {
            const exit = { name: this.name, at: Date.now(), code, signal };
            this.unexpectedExits.push(exit);
            this.spec.onUnexpectedExit?.(exit);
            setTimeout(() => this.wanted && !this.running && this.start(), 1000);
          }
        });
        // It could not be started at all (a binary gone, say): said in its log and reported, not
        // thrown (an unhandled 'error' would take the supervisor and every sibling down), and not
        // retried, since a second later it cannot be started either.
        child.once('error', (err) => {
          appendFileSync(this.spec.logFile, `could not start ${this.spec.command}: ${err.message}\n`);
          resolve();
          if (this.child !== child || !this.wanted) return;
          this.wanted = false;
          const exit = { name: this.name, at: Date.now(), code: null, signal: null };
          this.unexpectedExits.push(exit);
          this.spec.onUnexpectedExit?.(exit);
        });
      });
    } finally {
      closeSync(log); // the child has its own descriptor
    }
  }

  /** Sends `signal` and waits for the exit; SIGKILL if it is still there after `graceMs`. */
  async stop(signal: NodeJS.Signals, graceMs = 10_000): Promise<void> {
    this.wanted = false;
    if (!this.running) return;
    this.child!.kill(signal);
    await Promise.race([this.exited, sleep(graceMs)]);
    if (this.running) {
      this.child!.kill('SIGKILL');
      await this.exited;
    }
  }

  /** For the runner's own exit path, which cannot wait. */
  killNow(): void {
    this.wanted = false;
    if (this.running) this.child!.kill('SIGKILL');
  }
}
