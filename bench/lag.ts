/**
 * Section `lag`: the live projector's lag, from an append's return to the commit of the order
 * summary batch that applied it (when the projector's NOTIFY wakes a `?minVersion` read). Two
 * cases: c closed-loop writers, each appending one OrderCreated to a new order and waiting for it
 * to show before the next; and one writer that appends after the projector has gone quiet, so each
 * event is found through the append's notification rather than an active poll. And, for
 * attribution, what the notification trigger costs the appends.
 */
import { randomUUID } from 'node:crypto';
import type { Pool } from '../src/db/pool';
import { ReadModelChanges } from '../src/db/readModelChanges';
import { ORDER_STREAM_TYPE, orderStreamId } from '../src/domain/order';
import { appendToStream } from '../src/eventstore';
import { allProjections, projectionStatuses } from '../src/projections';
import { ORDER_SUMMARY } from '../src/projections/orderSummary';
import { cfg, ev, overBudget, pct, progress, summary, warmPool, type BenchResults } from './support';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const SHOW_TIMEOUT_MS = 30_000;

/** The backlog of earlier sections (append, fold) is not this section's lag: wait until every projection has caught up. */
async function caughtUp(pool: Pool): Promise<void> {
  const deadline = Date.now() + 120_000;
  while ((await projectionStatuses(pool, allProjections)).some((s) => s.lag.events > 0)) {
    if (Date.now() > deadline) throw new Error('the projections did not catch up with the earlier sections within 120 s');
    await sleep(200);
  }
}

/**
 * What the NOTIFY trigger costs an append: c writers INSERTing single events into a copy of the
 * events table that carries the same trigger function, with the trigger enabled and disabled,
 * interleaved (the better round of each counts). On its own table, so the run never disables the
 * real trigger of a database it was pointed at.
 */
async function notifyCost(out: BenchResults, url: string): Promise<void> {
  const c = cfg.lagConcurrency;
  const perWriter = Math.max(1, Math.floor(cfg.appendEvents / c));
  const pool = await warmPool(url, c);
  try {
    await pool.query('CREATE TABLE IF NOT EXISTS bench_notify_events (LIKE events INCLUDING ALL)');
    await pool.query('DROP TRIGGER IF EXISTS bench_events_appended ON bench_notify_events');
    await pool.query('CREATE TRIGGER bench_events_appended AFTER INSERT ON bench_notify_events FOR EACH STATEMENT EXECUTE FUNCTION events_appended_notify()');
    const run = randomUUID().slice(0, 8);
    const rate = async (label: string) => {
      const started = performance.now();
      await Promise.all(
        Array.from({ length: c }, async (_, w) => {
          for (let v = 1; v <= perWriter; v++) {
            const e = ev('bench', 'OrderItemAdded', { n: v });
            await pool.query(
              `INSERT INTO bench_notify_events (stream_id, stream_type, version, event_id, type, data, occurred_at) VALUES ($1, 'bench', $2, $3, $4, $5, now())`,
              [`${label}-${run}-${w}`, v, e.eventId, e.type, JSON.stringify(e.data)],
            );
          }
        }),
      );
      return (perWriter * c) / ((performance.now() - started) / 1000);
    };
    const withTrigger: number[] = [];
    const without: number[] = [];
    for (let round = 0; round < 2; round++) {
      await pool.query('ALTER TABLE bench_notify_events ENABLE TRIGGER bench_events_appended');
      withTrigger.push(await rate(`on${round}`));
      await pool.query('ALTER TABLE bench_notify_events DISABLE TRIGGER bench_events_appended');
      without.push(await rate(`off${round}`));
    }
    out.details['lag notify cost'] = { withTrigger, without };
    const ours = Math.max(...withTrigger);
    const baseline = Math.max(...without);
    out.rows.push({
      section: 'lag',
      case: `attribution: INSERTs/s with the events_appended trigger, c=${c}`,
      ours,
      baseline,
      unit: 'events/s',
      higherIsBetter: true,
      note: 'not a target; baseline: the same table and INSERTs with the trigger disabled',
    });
    progress(`lag notify cost c=${c}: ${ours.toFixed(0)} ev/s with the trigger, ${baseline.toFixed(0)} without`);
  } finally {
    await pool.end();
  }
}

export async function benchLag(out: BenchResults, pool: Pool, url: string): Promise<void> {
  await notifyCost(out, url);
  if (overBudget()) return void out.skipped.push('lag');
  await caughtUp(pool);
  const feed = ReadModelChanges.forPool(pool);
  await feed.listen();
  const appendPool = await warmPool(url, cfg.lagConcurrency);
  /** Appends one order's first event; resolves with [append ms, lag ms] once the order summary has committed it. */
  const appendAndWait = async (): Promise<[number, number]> => {
    const orderId = `bench-lag-${randomUUID()}`;
    const streamId = orderStreamId(orderId);
    let shownAt = 0;
    let shown!: () => void;
    const showing = new Promise<void>((resolve) => (shown = resolve));
    // Subscribed before the append, so a batch that commits while the append returns is not missed.
    const unsubscribe = feed.subscribe(ORDER_SUMMARY, [streamId], () => {
      shownAt ||= performance.now();
      shown();
    });
    try {
      const started = performance.now();
      await appendToStream(appendPool, streamId, ORDER_STREAM_TYPE, 'no_stream', [
        ev(ORDER_STREAM_TYPE, 'OrderCreated', { orderId, customerId: 'bench-lag', shippingAddress: null }),
      ]);
      const appended = performance.now();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([showing, new Promise<void>((resolve) => (timer = setTimeout(resolve, SHOW_TIMEOUT_MS)))]);
      clearTimeout(timer);
      if (shownAt === 0) throw new Error(`order ${orderId} did not show in the order summary within ${SHOW_TIMEOUT_MS} ms`);
      return [appended - started, Math.max(0, shownAt - appended)];
    } finally {
      unsubscribe();
    }
  };
  try {
    const c = cfg.lagConcurrency;
    const lags: number[] = [];
    const appends: number[] = [];
    const until = Date.now() + cfg.lagSeconds * 1000;
    await Promise.all(
      Array.from({ length: c }, async () => {
        while (Date.now() < until) {
          const [append, lag] = await appendAndWait();
          appends.push(append);
          lags.push(lag);
        }
      }),
    );
    lags.sort((a, b) => a - b);
    out.details[`lag c=${c}`] = { lag: summary(lags), append: summary(appends) };
    out.rows.push({
      section: 'lag',
      case: `append to order summary, c=${c} closed-loop writers, ${cfg.lagSeconds} s: p50 / p99`,
      ours: pct(lags, 99),
      baseline: NaN,
      unit: 'ms',
      higherIsBetter: false,
      target: 'p99 ≤ 100 ms',
      met: pct(lags, 99) <= 100,
      note: `p50 ${pct(lags, 50).toFixed(0)} ms, max ${lags[lags.length - 1]?.toFixed(0)} ms, ${lags.length} events; the append itself p50 ${summary(appends).p50.toFixed(0)} ms`,
    });
    progress(`lag c=${c}: p50 ${pct(lags, 50).toFixed(1)} / p99 ${pct(lags, 99).toFixed(1)} ms over ${lags.length} events`);

    if (overBudget()) return void out.skipped.push('lag (quiet)');
    // Past the projector's QUIET_AFTER_MS (250 ms) between appends: only the notification wakes it within its 1 s safety poll.
    const quiet: number[] = [];
    for (let i = 0; i < cfg.lagQuietEvents; i++) {
      await sleep(400);
      quiet.push((await appendAndWait())[1]);
    }
    quiet.sort((a, b) => a - b);
    out.details['lag quiet'] = summary(quiet);
    out.rows.push({
      section: 'lag',
      case: `append to order summary, 1 writer, projector quiet (400 ms between appends): p50 / p99`,
      ours: pct(quiet, 99),
      baseline: NaN,
      unit: 'ms',
      higherIsBetter: false,
      note: `p50 ${pct(quiet, 50).toFixed(0)} ms, ${quiet.length} events; woken by NOTIFY, safety poll 1 s`,
    });
    progress(`lag quiet: p50 ${pct(quiet, 50).toFixed(1)} / p99 ${pct(quiet, 99).toFixed(1)} ms`);
  } finally {
    await feed.close();
    await appendPool.end();
  }
}
