import { expectScenarioPassed, useChaosRun } from '../support/chaosRun';

/** `npm run chaos` at CI size on the dev shape: the Temporal dev server, one worker, one API. */
const ORDERS = 20;
/**
 * About 2 minutes on a quiet 2-core machine, over 3 when the rest of the suite runs beside it on
 * a loaded one: room for both, since a scenario that does not start in time fails the test.
 */
const report = useChaosRun({ env: { CHAOS_ORDERS: String(ORDERS), CHAOS_SEED: '7', CHAOS_PG_DOWN_MS: '3000' }, timeLimitMs: 420_000 });

test.each([
  ['worker-kill', 'the worker is SIGKILLed 3 times'],
  ['postgres-stop', 'Postgres is stopped and started'],
  ['api-kill', 'the API is SIGKILLed mid-request and clients retry with the same Idempotency-Key'],
  ['temporal-restart', 'the Temporal dev server restarts on its SQLite file'],
])('%s: every checkout settles and every invariant holds when %s', (slug) => expectScenarioPassed(report(), slug, ORDERS));
