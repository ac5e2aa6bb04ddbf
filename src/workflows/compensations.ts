import { ActivityFailure, ApplicationFailure, isCancellation, log, patched, sleep } from '@temporalio/workflow';

/**
 * Compensations finish whatever their steps came to: stock is given back from any state, and an
 * undo that is refused is retried rather than ending the saga. Histories recorded before this
 * patch chose release or return by what the saga saw, and failed on a refusal; they replay so.
 */
export const COMPENSATIONS_ALWAYS_FINISH = 'compensations-always-finish';

const REFUSED_UNDO_FIRST_PAUSE_MS = 1_000;
const REFUSED_UNDO_MAX_PAUSE_MS = 10 * 60_000;

/**
 * Undo steps of a saga, registered before the step they undo and run in reverse. Each one is an
 * activity with unlimited retries, and a refusal is retried too, so running them ends only when
 * all have succeeded: none is logged and forgotten.
 */
export class Compensations {
  private readonly stack: Array<{ name: string; undo: () => Promise<string | void> }> = [];

  /** `undo` may answer what it actually did ("returned stock of P"); `name` stands for it otherwise. */
  add(name: string, undo: () => Promise<string | void>): void {
    this.stack.push({ name, undo });
  }

  /** Runs every registered undo, newest first; returns what each did, in the order they ran. */
  async runAll(): Promise<string[]> {
    const done: string[] = [];
    while (this.stack.length > 0) {
      const { name, undo } = this.stack.pop()!;
      const did = (await untilDone(name, undo)) ?? name;
      log.info('Compensated', { name, did });
      done.push(did);
    }
    return done;
  }
}

/**
 * An undo's activity retries technical failures by itself; a refusal (non-retryable) would end the
 * saga with the undos behind it never run, so it is retried here after a durable pause. Undos are
 * built not to refuse: one that does is a bug, and a fixed worker finishes it.
 */
async function untilDone(name: string, undo: () => Promise<string | void>): Promise<string | void> {
  for (let pauseMs = REFUSED_UNDO_FIRST_PAUSE_MS; ; pauseMs = Math.min(pauseMs * 2, REFUSED_UNDO_MAX_PAUSE_MS)) {
    try {
      return await undo();
    } catch (err) {
      // A local step's refusal arrives as the ApplicationFailure itself (src/workflows/localFirst.ts).
      const refused = err instanceof ActivityFailure || err instanceof ApplicationFailure;
      if (!refused || isCancellation(err) || !patched(COMPENSATIONS_ALWAYS_FINISH)) throw err;
      log.error('A compensation was refused; it is retried', {
        name,
        error: err instanceof ActivityFailure ? err.cause?.message : err.message,
        retryInMs: pauseMs,
      });
      await sleep(pauseMs);
    }
  }
}
