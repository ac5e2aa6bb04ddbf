/*
 * Model-based test of the whole service over its real HTTP API (issue 12): random sequences of
 * order, wallet and stock commands, some fired concurrently, with Idempotency-Keys an adversarial
 * client would choose (reused across routes and orders, shaped like the service's own ids), judged
 * against the in-memory model in model.ts; after each run, every order, stock level and wallet
 * must read as the model says, no order may be stuck, and check:invariants must pass.
 *
 * A few short runs here, a random seed each time; a failure prints the seed and the command to
 * replay it. `npm run test:model` runs the long search (test/model/run.ts).
 */
import { useTestApi } from '../support/harness';
import { checkModel } from './modelCheck';
import { Stats } from './world';

/** A run takes a second or two: the time budget, not the count, usually ends the search. */
const NUM_RUNS = 40;
const MAX_COMMANDS = 25;
/** Runs stop starting after this, so the file stays near a minute on a loaded two-core machine. */
const SEARCH_MS = 60_000;
/** A failure is shrunk for at most this long: each failing run can wait out a stuck checkout. */
const SHRINK_MS = 90_000;

const app = useTestApi({ poolSize: 20 });

test('every answer agrees with the model of orders, stock and wallets, whatever keys clients choose', async () => {
  const stats = new Stats();
  const outcome = await checkModel(
    { baseUrl: app.api.baseUrl, client: app.client, pool: app.pool },
    { numRuns: NUM_RUNS, maxCommands: MAX_COMMANDS, stopAt: Date.now() + SEARCH_MS, shrinkForMs: SHRINK_MS },
    stats,
  );
  if (outcome.failure) {
    const replay = `npm run test:model -- --seed=${outcome.seed} --path ${outcome.failure.path} --max-commands ${MAX_COMMANDS}`;
    throw new Error(`${outcome.failure.report}\n\nReplay: ${replay}\n\nWhat the runs tried:\n${stats.format()}`);
  }
}, 300_000);
