import { log } from '@temporalio/workflow';

/**
 * Undo steps of a saga, registered before the step they undo and run in reverse. Each one is an
 * activity with unlimited retries, so running them ends only when all have succeeded: none is
 * logged and forgotten.
 */
export class Compensations {
  private readonly stack: Array<{ name: string; undo: () => Promise<void> }> = [];

  add(name: string, undo: () => Promise<void>): void {
    this.stack.push({ name, undo });
  }

  /** Runs every registered undo, newest first; returns their names in the order they ran. */
  async runAll(): Promise<string[]> {
    const done: string[] = [];
    while (this.stack.length > 0) {
      const { name, undo } = this.stack.pop()!;
      await undo();
      log.info('Compensated', { name });
      done.push(name);
    }
    return done;
  }
}
