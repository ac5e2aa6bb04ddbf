/**
 * `npm run test:model [-- --minutes 10 --runs 1000 --seed=N --path P --max-commands 25 --shrink-minutes 3]`:
 * the long model-based search. Starts what the tests start (embedded Postgres, the Temporal dev
 * server, a worker, the API), then runs the model in rounds until the runs or the minutes are used
 * up: a round ends at its first failure, which is shrunk and printed with its seed, and the next
 * round goes on with another seed. Prints every run, what was tried, and every failure. With
 * --seed and --path it replays one counterexample. Exits 1 when anything failed.
 */
import { parseArgs } from 'node:util';
import globalSetup from '../support/globalSetup';
import globalTeardown from '../support/globalTeardown';
import { startTestApi, testClient, testPool } from '../support/harness';
import { checkModel, type CheckOutcome } from './modelCheck';
import { Stats } from './world';

const USAGE =
  'usage: npm run test:model -- [--minutes M] [--runs N] [--seed=S [--path P]] [--max-commands C] [--shrink-minutes M]  (a negative seed needs the = form)';

function wholeNumber(name: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min) throw new Error(`--${name} needs a whole number of at least ${min}, not ${JSON.stringify(text)}\n${USAGE}`);
  return value;
}

function options() {
  const { values } = parseArgs({
    strict: true,
    allowPositionals: false,
    options: {
      minutes: { type: 'string', default: '10' },
      runs: { type: 'string', default: '1000' },
      seed: { type: 'string' },
      path: { type: 'string' },
      'max-commands': { type: 'string', default: '25' },
      'shrink-minutes': { type: 'string', default: '3' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.path !== undefined && values.seed === undefined) throw new Error(`--path replays a counterexample of a --seed\n${USAGE}`);
  return {
    help: values.help,
    minutes: wholeNumber('minutes', values.minutes, 1)!,
    runs: wholeNumber('runs', values.runs, 1)!,
    // fast-check seeds are 32-bit integers, negative ones included.
    seed: wholeNumber('seed', values.seed, -(2 ** 31)),
    path: values.path,
    maxCommands: wholeNumber('max-commands', values['max-commands'], 1)!,
    shrinkMinutes: wholeNumber('shrink-minutes', values['shrink-minutes'], 0)!,
  };
}

async function main(): Promise<number> {
  const args = options();
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const print = (line: string) => process.stdout.write(`${line}\n`);
  const startedAt = Date.now();
  const stopAt = startedAt + args.minutes * 60_000;
  await globalSetup();
  const client = await testClient();
  const pool = testPool(20);
  const api = await startTestApi({ client, pool });
  const stats = new Stats((line) => print(`  ${line}`));
  const failures: Array<CheckOutcome & { failure: NonNullable<CheckOutcome['failure']> }> = [];
  try {
    let runsLeft = args.runs;
    for (let round = 0; runsLeft > 0 && Date.now() < stopAt; round++) {
      const seed = args.seed === undefined ? undefined : (args.seed + round) | 0;
      const shrinkRunsBefore = stats.shrinkRuns;
      const outcome = await checkModel(
        { baseUrl: api.baseUrl, client, pool },
        { numRuns: runsLeft, maxCommands: args.maxCommands, seed, path: args.path, stopAt, shrinkForMs: args.shrinkMinutes * 60_000 },
        stats,
      );
      print(
        `round ${round + 1} (seed ${outcome.seed}): ${outcome.passed} run(s) passed${outcome.failure ? `, then a failure (${stats.shrinkRuns - shrinkRunsBefore} shrinking run(s)): ${outcome.failure.firstLine}` : ''}`,
      );
      runsLeft -= outcome.passed + (outcome.failure ? 1 : 0);
      if (outcome.failure) failures.push({ ...outcome, failure: outcome.failure });
      if (args.path !== undefined || (!outcome.failure && outcome.passed === 0)) break;
    }
  } finally {
    await api.close();
    await client.connection.close();
    await pool.end();
    await globalTeardown();
  }
  print(`\nWhat was tried in ${((Date.now() - startedAt) / 60_000).toFixed(1)} min:\n${stats.format()}`);
  if (failures.length === 0) {
    print('\nNo failure: every answer agreed with the model, no order was stuck, the invariants held.');
    return 0;
  }
  print(`\n${failures.length} failure(s):`);
  for (const [i, { seed, failure }] of failures.entries()) {
    print(`\n--- failure ${i + 1}: seed ${seed}, path ${failure.path}`);
    print(`replay: npm run test:model -- --seed=${seed} --path ${failure.path} --max-commands ${args.maxCommands}`);
    print(failure.report);
  }
  return 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`test:model could not run: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  },
);
