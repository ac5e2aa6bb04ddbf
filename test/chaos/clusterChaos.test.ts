import { expectScenarioPassed, useChaosRun } from '../support/chaosRun';

/**
 * `CHAOS_SHAPE=cluster npm run chaos` at CI size: the Temporal cluster on Postgres (frontend,
 * history, matching and worker processes), two workers and two APIs, the load spread over both.
 * The server binaries are built on first use (ensureTemporalServerBinaries), as start:cluster's.
 */
const ORDERS = 16;
const report = useChaosRun({
  env: { CHAOS_SHAPE: 'cluster', CHAOS_ORDERS: String(ORDERS), CHAOS_SEED: '11', CHAOS_PG_DOWN_MS: '3000', CHAOS_API_DOWN_MS: '3000' },
  timeLimitMs: 420_000,
});

test.each([
  ['worker-kill', 'one of the two workers is SIGKILLed 3 times'],
  ['postgres-stop', 'Postgres, and with it Temporal, is stopped and started'],
  ['api-kill', 'one of the two APIs is SIGKILLed and clients fail over to the other with the same Idempotency-Keys'],
  ['temporal-restart', "Temporal's history and frontend processes are SIGKILLed and restarted"],
])('%s: every checkout settles and every invariant holds when %s', (slug) => expectScenarioPassed(report(), slug, ORDERS));

test('the load went through both APIs, and requests failed over to the other when one was killed', () => {
  const apiKill = report().results.find((r) => r.slug === 'api-kill')!;
  expect(apiKill.attemptsByApi).toEqual([expect.any(Number), expect.any(Number)]);
  expect(Math.min(...apiKill.attemptsByApi)).toBeGreaterThan(0);
  expect(apiKill.failovers).toBeGreaterThan(0);
});
