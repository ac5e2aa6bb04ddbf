import fc from 'fast-check';
import { modelCommands } from './commands';
import { type Stats, World, type Env } from './world';

/*
 * One fast-check search over model runs, shared by the jest test and `npm run test:model`. Each run
 * is a fresh World (its own products, customers and orders), a command sequence played against the
 * real API and the model, then the checks after the run (reads, stuck orders, invariants).
 */

export interface CheckOptions {
  numRuns: number;
  maxCommands: number;
  seed?: number;
  /** A counterexample's path, with its seed: replays it. */
  path?: string;
  /** No run starts after this time (epoch ms), except to shrink a failure. */
  stopAt: number;
  /** How long shrinking a failure may go on after its discovery (also past stopAt). */
  shrinkForMs: number;
}

export interface CheckOutcome {
  seed: number;
  /** Runs that passed before the end (or before the failure). */
  passed: number;
  failure?: { report: string; path: string; firstLine: string };
}

export async function checkModel(env: Env, options: CheckOptions, stats: Stats): Promise<CheckOutcome> {
  let failedAt: number | undefined;
  const property = fc.asyncProperty(modelCommands(options.maxCommands), async (commands) => {
    const shrinking = failedAt !== undefined;
    // Past the budget: end the search here, keeping the smallest failure found so far.
    if (Date.now() > (failedAt === undefined ? options.stopAt : failedAt + options.shrinkForMs)) throw new fc.PreconditionFailure(true);
    stats.shrinking = shrinking;
    const world = await World.start(env, stats);
    const box = world.newModel();
    try {
      await fc.asyncModelRun(() => ({ model: box, real: world }), commands);
      await world.verify(box.state);
      if (!shrinking) stats.log(`run ${world.setup.runId}: ${[...commands].length} command(s), ok`);
    } catch (err) {
      failedAt ??= Date.now();
      stats.log(`run ${world.setup.runId}${shrinking ? ' (shrinking)' : ''}: FAILED: ${(err as Error).message.split('\n')[0]}`);
      throw err;
    }
  });
  const details = await fc.check(property, {
    numRuns: options.numRuns,
    ...(options.seed === undefined ? {} : { seed: options.seed }),
    ...(options.path === undefined ? {} : { path: options.path }),
  });
  if (!details.failed || details.counterexamplePath === null) return { seed: details.seed, passed: details.numRuns };
  const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  return {
    seed: details.seed,
    passed: details.numRuns - 1,
    failure: {
      report: `${fc.defaultReportMessage(details) ?? ''}\n\nThe shrunk run failed with:\n${error}`,
      path: details.counterexamplePath,
      firstLine: error.split('\n')[0] ?? error,
    },
  };
}
