import { randomBytes } from 'node:crypto';
import { PatientClient, type Observation } from './client';
import { planShop, runShoppers, seedShop, type LoadProgress } from './customers';
import type { Fault, Injection } from './faults';
import { seconds, summarizeAnswers, type ScenarioResult } from './report';
import type { ChaosStack } from './stack';
import { duplicateEffects, scenarioInvariants, settle } from './verify';

export interface ScenarioOptions {
  orders: number;
  seed: number;
  /** How long to wait after the load for every checkout to have an outcome. */
  settleTimeoutMs: number;
  /** Called about once a second: checkouts with an outcome of all, and what else is going on. */
  onProgress?: (progress: { settled: number; orders: number; note: string }) => void;
}

/**
 * A 5xx other than 503, or a 503 that does not say when to retry. /readyz is exempt: its 503 means
 * "not ready" to a load balancer, which polls on its own schedule.
 */
function isBadAnswer(o: Observation): boolean {
  if (o.route.includes('/readyz')) return false;
  return typeof o.status === 'number' && o.status >= 500 && (o.status !== 503 || o.retryAfter === undefined);
}

/** What the virtual customers had to retry (the fault's probes try once and are not counted). */
const wasRetried = (o: Observation) => !o.route.endsWith('(probe)') && (typeof o.status !== 'number' || o.status === 429 || o.status >= 500);

function progressNote(p: LoadProgress, faultStatus: string): string {
  return `created ${p.created}/${p.orders}, in flight ${p.inFlight} | ${faultStatus}`;
}

/**
 * One fault under load: seed a scarce shop, start every virtual customer, inject the fault (it
 * waits for its moment), wait for every checkout to settle, then verify outcomes, exactly-once
 * effects and the invariants over this scenario's streams.
 */
export async function runScenario(stack: ChaosStack, fault: Fault, options: ScenarioOptions): Promise<ScenarioResult> {
  const startedAt = Date.now();
  const observations: Observation[] = [];
  const client = new PatientClient(stack.apiUrls, (o) => observations.push(o), { attemptTimeoutMs: 60_000, giveUpAfterMs: 300_000 });
  const plan = planShop(`${fault.slug}-${randomBytes(3).toString('hex')}`, options.orders, options.seed);
  const tokens = new Map(
    await Promise.all(plan.customers.map(async (c) => [c.customerId, await stack.token({ sub: c.customerId, role: 'customer' })] as const)),
  );
  const customerToken = (customerId: string) => tokens.get(customerId)!;
  const seeded = await seedShop(client, plan, { admin: await stack.token({ sub: 'chaos-admin', role: 'admin' }), customer: customerToken });
  const exitsBefore = stack.unexpectedExits().length;

  const loadStartedAt = Date.now();
  const load = runShoppers(client, seeded, customerToken);
  let faultStatus = 'waiting for its moment';
  const ticker = setInterval(
    () => options.onProgress?.({ settled: load.progress.settled, orders: load.progress.orders, note: progressNote(load.progress, faultStatus) }),
    1000,
  );
  const notes: string[] = [];
  let injections: Injection[] = [];
  let faultFailed = false;
  try {
    const probeCustomer = plan.customers[0]!.customerId;
    injections = await fault.run({
      stack,
      progress: load.progress,
      probe: client,
      probeCustomer: { customerId: probeCustomer, token: customerToken(probeCustomer) },
      status: (text) => (faultStatus = text),
    });
  } catch (err) {
    faultFailed = true;
    notes.push(`the fault could not be injected or repaired: ${(err as Error).message}`);
  }
  faultStatus = 'repaired; waiting for the load';
  const shoppers = await load.done;
  faultStatus = 'settling';
  const settlement = await settle(
    stack.pool,
    plan.orders.map((o) => o.orderId),
    options.settleTimeoutMs,
  );
  clearInterval(ticker);
  const duplicates = await duplicateEffects(stack.pool, shoppers);
  const invariants = await scenarioInvariants(stack.pool, stack.client, shoppers, seeded.productIds);

  const failedOnClient = shoppers.filter((s) => s.error);
  if (failedOnClient.length > 0)
    notes.push(
      `${failedOnClient.length} virtual customer(s) got no outcome: ${failedOnClient
        .slice(0, 3)
        .map((s) => `${s.orderId}: ${s.error}`)
        .join('; ')}`,
    );
  injections.forEach((injection, i) => {
    const whileDown = observations.filter((o) => o.at >= injection.injectedAt && o.at <= injection.readyAt);
    if (whileDown.length > 0) notes.push(`answers while down${injections.length > 1 ? ` (${i + 1})` : ''}: ${summarizeAnswers(whileDown, true)}`);
  });
  const loadAttempts = observations.filter((o) => o.at >= loadStartedAt && !o.route.endsWith('(probe)'));
  const retriedRequests = loadAttempts.filter((o) => o.attempt === 2).length;
  const waits = shoppers.flatMap((s) => (s.waitedMs === undefined ? [] : [s.waitedMs])).sort((a, b) => a - b);
  const longestOrderMs = waits.at(-1) ?? null;
  notes.push(
    `${retriedRequests} of ${loadAttempts.filter((o) => o.attempt === 1).length} requests needed a retry; ` +
      `create to outcome ${waits.length ? `p50 ${seconds(waits[Math.floor(waits.length / 2)]!)}, longest ${seconds(longestOrderMs!)}` : 'n/a'}`,
  );
  const attemptsByApi = stack.apiUrls.map((_, api) => loadAttempts.filter((o) => o.api === api).length);
  const failovers = loadAttempts.filter((o) => o.failedOver).length;
  if (stack.apiUrls.length > 1)
    notes.push(`attempts by API: ${attemptsByApi.map((n, api) => `API ${api + 1} ×${n}`).join(', ')}; failed over to the other API: ${failovers}`);
  const retried = observations.filter(wasRetried);
  if (retried.length > 0) notes.push(`retried: ${summarizeAnswers(retried, true)}`);
  const exits = stack.unexpectedExits().slice(exitsBefore);
  if (exits.length > 0) notes.push(`unexpected exits (restarted): ${exits.map((e) => `${e.name} code ${e.code} signal ${e.signal}`).join('; ')}`);
  for (const r of invariants.filter((i) => i.status === 'FAIL')) notes.push(`invariant ${r.id} (${r.title}): ${r.violations.slice(0, 3).join('; ')}`);
  if (duplicates.length > 0) notes.push(`duplicate effects: ${duplicates.slice(0, 3).join('; ')}`);
  if (settlement.unsettled.length > 0) notes.push(`unsettled: ${settlement.unsettled.slice(0, 5).join(', ')}`);
  const bad = observations.filter(isBadAnswer);
  if (bad.length > 0) notes.push(`bad answers: ${summarizeAnswers(bad, true)}`);

  const completed = settlement.confirmed + Object.values(settlement.failedBy).reduce((a, b) => a + b, 0);
  const violations = invariants.reduce((n, r) => n + r.violationCount, 0) + duplicates.length;
  return {
    passed: !faultFailed && failedOnClient.length === 0 && completed === plan.orders.length && violations === 0 && bad.length === 0,
    fault: fault.name,
    slug: fault.slug,
    orders: plan.orders.length,
    completed,
    confirmed: settlement.confirmed,
    failedBy: settlement.failedBy,
    violations,
    badAnswers: bad.length,
    recoveryMs: injections.map((i) => {
      const first = load.progress.outcomeTimes.find((t) => t >= i.repairedAt);
      return first === undefined ? null : first - i.repairedAt;
    }),
    readyMs: injections.map((i) => i.readyAt - i.repairedAt),
    requests: observations.length,
    retriedRequests,
    attemptsByApi,
    failovers,
    longestOrderMs,
    notes,
    durationMs: Date.now() - startedAt,
  };
}
