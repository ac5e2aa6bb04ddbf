/** Section `rebuild`: rebuildProjection(account_summary) over a seeded store against one plain SELECT of the whole store. */
import { randomUUID } from 'node:crypto';
import type { Pool } from '../src/db/pool';
import { ACCOUNT_STREAM_TYPE, accountStreamId } from '../src/domain/account';
import { appendToStream } from '../src/eventstore';
import { accountSummaryProjection, rebuildProjection } from '../src/projections';
import { cfg, ev, progress, warmPool, type BenchResults } from './support';

export async function benchRebuild(out: BenchResults, pool: Pool, url: string): Promise<void> {
  const accounts = 500;
  const perAccount = Math.max(2, Math.floor(cfg.rebuildEvents / accounts));
  const run = randomUUID().slice(0, 6);
  const p = await warmPool(url, 4);
  await Promise.all(
    Array.from({ length: 4 }, async (_, w) => {
      for (let a = w; a < accounts; a += 4) {
        const customerId = `bench-${run}-${a}`;
        const es = [ev(ACCOUNT_STREAM_TYPE, 'AccountOpened', { customerId })];
        for (let i = 1; i < perAccount; i++) es.push(ev(ACCOUNT_STREAM_TYPE, 'FundsDeposited', { amountCents: 100 }));
        for (let i = 0; i < es.length; i += 100) await appendToStream(p, accountStreamId(customerId), ACCOUNT_STREAM_TYPE, i, es.slice(i, i + 100));
      }
    }),
  );
  await p.end();
  const {
    rows: [count],
  } = await pool.query<{ n: string; handled: string }>(`SELECT count(*) AS n, count(*) FILTER (WHERE stream_type = $1) AS handled FROM events`, [
    ACCOUNT_STREAM_TYPE,
  ]);
  progress(`rebuild: seeded ${accounts * perAccount} account events (${count!.n} events in store), rebuilding account_summary`);
  const a = performance.now();
  const result = await rebuildProjection(pool, url, accountSummaryProjection);
  const ms = performance.now() - a;
  const handled = Number(count!.handled);
  // baseline: reading the same events through readAll-shaped SQL without applying them
  const b = performance.now();
  await pool.query(`SELECT global_position, stream_id, type, data FROM events ORDER BY transaction_id, global_position`);
  const readMs = performance.now() - b;
  const total = Number(count!.n);
  out.details.rebuild = { storeEvents: total, accountEvents: handled, ms, result: { events: result.events }, plainReadMs: readMs };
  const rate = (total / ms) * 1000;
  out.rows.push({
    section: 'rebuild',
    case: `handled events only (${handled} account events)`,
    ours: (handled / ms) * 1000,
    baseline: NaN,
    unit: 'events/s',
    higherIsBetter: true,
  });
  out.rows.push({
    section: 'rebuild',
    case: `rebuildProjection(account_summary), ${total} events in store (${handled} handled)`,
    ours: rate,
    baseline: (total / readMs) * 1000,
    unit: 'events/s',
    higherIsBetter: true,
    target: '≥ 20k events/s',
    met: rate >= 20_000,
    note: 'baseline: one plain SELECT of the whole store in global order',
  });
  progress(`rebuild: ${rate.toFixed(0)} events/s (${ms.toFixed(0)} ms)`);
}
