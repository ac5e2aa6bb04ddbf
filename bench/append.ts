/** Section `append`: appendToStream against a plain INSERT of the same rows, one event per call at several concurrencies, and 100 per call. */
import { createPool } from '../src/db/pool';
import { appendToStream } from '../src/eventstore';
import { cfg, ev, overBudget, progress, warmPool, type BenchResults } from './support';

export async function benchAppend(out: BenchResults, url: string): Promise<void> {
  const run = `b${Date.now().toString(36)}`;
  const plain = createPool(url, 2);
  await plain.query(`CREATE TABLE IF NOT EXISTS bench_plain_events (
    global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
    stream_id text NOT NULL, stream_type text NOT NULL, version bigint NOT NULL CHECK (version >= 1),
    event_id uuid NOT NULL UNIQUE, type text NOT NULL, schema_version integer NOT NULL DEFAULT 1,
    data jsonb NOT NULL, metadata jsonb NOT NULL DEFAULT '{}'::jsonb, occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(), UNIQUE (stream_id, version))`);
  // attribution only: the same plain table plus the events table's two secondary indexes
  await plain.query(`CREATE TABLE IF NOT EXISTS bench_plain_indexed (LIKE bench_plain_events INCLUDING ALL)`);
  await plain.query(`CREATE INDEX IF NOT EXISTS bench_plain_indexed_global ON bench_plain_indexed (transaction_id, global_position)`);
  await plain.query(`CREATE INDEX IF NOT EXISTS bench_plain_indexed_type ON bench_plain_indexed (stream_type, type)`);
  // attribution only: the indexed copy plus a streams table claimed in the same statement, as
  // appendToStream does: what the streams table costs (no foreign key, like events since migration 010)
  await plain.query(`CREATE TABLE IF NOT EXISTS bench_claimed_events (LIKE bench_plain_indexed INCLUDING ALL)`);
  await plain.query(`CREATE TABLE IF NOT EXISTS bench_streams (LIKE streams INCLUDING ALL)`);
  await plain.end();
  const data = { productId: 'p-1', name: 'Notebook', unitPriceCents: 450, quantity: 1, lineTotalCents: 450 };
  const plainSql = `INSERT INTO bench_plain_events (stream_id, stream_type, version, event_id, type, schema_version, data, metadata, occurred_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`;
  const indexedSql = plainSql.replace('bench_plain_events', 'bench_plain_indexed');
  /** appendToStream's statement for one event at an exact version, on the attribution tables. */
  const claimSql = (claim: string) => `WITH claim AS (${claim})
    INSERT INTO bench_claimed_events (stream_id, stream_type, version, event_id, type, schema_version, data, metadata, occurred_at)
    SELECT $1, $2, claim.version, $4, $5, $6, $7, $8, $9 FROM claim RETURNING version`;
  const claimNewSql = claimSql(
    `INSERT INTO bench_streams (stream_id, stream_type, version) VALUES ($1, $2, $3) ON CONFLICT (stream_id) DO NOTHING RETURNING version`,
  );
  const claimNextSql = claimSql(
    `UPDATE bench_streams SET version = version + 1, updated_at = now() WHERE stream_id = $1 AND version = $3::bigint - 1 RETURNING version`,
  );
  for (const c of cfg.appendLevels) {
    if (overBudget()) {
      out.skipped.push(`append c=${c}`);
      continue;
    }
    const perWorker = Math.max(1, Math.floor(cfg.appendEvents / c));
    const pool = await warmPool(url, c);
    /** The event `appendToStream` would store, written by one plain INSERT (`sql`; a named statement when `name` is given). */
    const plainInsert = async (sql: string, stream: string, version: number, name?: string) => {
      const e = ev('bench', 'OrderItemAdded', data);
      const values = [stream, 'bench', version, e.eventId, e.type, e.schemaVersion, JSON.stringify(e.data), '{}', (e.occurredAt as Date).toISOString()];
      await pool.query({ name, text: sql, values });
    };
    const time = async (fn: (w: number) => Promise<void>) => {
      const start = performance.now();
      await Promise.all(Array.from({ length: c }, (_, w) => fn(w)));
      return (perWorker * c) / ((performance.now() - start) / 1000);
    };
    // interleaved rounds (plain, ours, plain, ours): the better round of each counts, so neither
    // pays alone for a cold cache or a neighbour's burst
    const oursRates: number[] = [];
    const plainRates: number[] = [];
    const indexedRates: number[] = [];
    const claimedRates: number[] = [];
    for (let round = 0; round < 2; round++) {
      plainRates.push(
        await time(async (w) => {
          const stream = `plain-${run}-c${c}-r${round}-w${w}`;
          for (let v = 0; v < perWorker; v++) await plainInsert(plainSql, stream, v + 1);
        }),
      );
      oursRates.push(
        await time(async (w) => {
          const stream = `bench-${run}-c${c}-r${round}-w${w}`;
          for (let v = 0; v < perWorker; v++) await appendToStream(pool, stream, 'bench', v, [ev('bench', 'OrderItemAdded', data)]);
        }),
      );
      indexedRates.push(
        await time(async (w) => {
          const stream = `indexed-${run}-c${c}-r${round}-w${w}`;
          for (let v = 0; v < perWorker; v++) await plainInsert(indexedSql, stream, v + 1);
        }),
      );
      claimedRates.push(
        await time(async (w) => {
          const stream = `claimed-${run}-c${c}-r${round}-w${w}`;
          for (let v = 0; v < perWorker; v++)
            await plainInsert(v === 0 ? claimNewSql : claimNextSql, stream, v + 1, v === 0 ? 'bench_claim_new' : 'bench_claim_next');
        }),
      );
    }
    const oursRate = Math.max(...oursRates);
    const plainRate = Math.max(...plainRates);
    out.details[`append c=${c}`] = { oursRates, plainRates };
    out.rows.push({
      section: 'append',
      case: `1 event/call, c=${c}`,
      ours: oursRate,
      baseline: plainRate,
      unit: 'events/s',
      higherIsBetter: true,
      target: '≥ 0.8×',
      met: oursRate / plainRate >= 0.8,
    });
    out.details[`append attribution c=${c}`] = { plainWithEventsIndexes: indexedRates, plainWithIndexesAndStreamsClaim: claimedRates };
    for (const [name, rates] of [
      ["+ events' 2 secondary indexes", indexedRates],
      ["+ those indexes + the streams claim, named (ours' statement, on copies of the tables)", claimedRates],
    ] as const) {
      out.rows.push({
        section: 'append',
        case: `attribution: plain INSERT ${name}, c=${c}`,
        ours: Math.max(...rates),
        baseline: plainRate,
        unit: 'events/s',
        higherIsBetter: true,
        note: 'not a target; what the indexes and the streams table cost',
      });
    }
    await pool.end();
    progress(`append c=${c}: ours ${oursRate.toFixed(0)} ev/s, plain ${plainRate.toFixed(0)} ev/s`);
  }
  if (overBudget()) {
    out.skipped.push('append batch');
    return;
  }
  // batches of 100 events per call, concurrency 1, in interleaved rounds as above (a single
  // 0.2 s run of each, ours first, gave 0.49–0.98× from run to run)
  const pool = await warmPool(url, 1);
  const batches = Math.max(1, Math.floor(cfg.batchEvents / 100));
  const mk = () => Array.from({ length: 100 }, () => ev('bench', 'OrderItemAdded', data));
  const timeBatches = async (fn: (b: number) => Promise<unknown>) => {
    const start = performance.now();
    for (let b = 0; b < batches; b++) await fn(b);
    return (batches * 100) / ((performance.now() - start) / 1000);
  };
  const plainBatch = (stream: string, b: number) => {
    const es = mk();
    return pool.query(
      `INSERT INTO bench_plain_events (stream_id, stream_type, version, event_id, type, schema_version, data, metadata, occurred_at)
       SELECT $1, $2, $3::bigint + e.ord, e.event_id, e.type, e.schema_version, e.data, e.metadata, e.occurred_at
         FROM unnest($4::uuid[], $5::text[], $6::int[], $7::jsonb[], $8::jsonb[], $9::timestamptz[])
              WITH ORDINALITY AS e(event_id, type, schema_version, data, metadata, occurred_at, ord)`,
      [
        stream,
        'bench',
        b * 100,
        es.map((e) => e.eventId),
        es.map((e) => e.type),
        es.map((e) => e.schemaVersion),
        es.map((e) => JSON.stringify(e.data)),
        es.map(() => '{}'),
        es.map((e) => (e.occurredAt as Date).toISOString()),
      ],
    );
  };
  const batchPlainRates: number[] = [];
  const batchOursRates: number[] = [];
  for (let round = 0; round < 2; round++) {
    batchPlainRates.push(await timeBatches((b) => plainBatch(`plain-${run}-batch-r${round}`, b)));
    batchOursRates.push(await timeBatches((b) => appendToStream(pool, `bench-${run}-batch-r${round}`, 'bench', b * 100, mk())));
  }
  await pool.end();
  const oursRate = Math.max(...batchOursRates);
  const plainRate = Math.max(...batchPlainRates);
  out.details['append batch'] = { oursRates: batchOursRates, plainRates: batchPlainRates };
  out.rows.push({
    section: 'append',
    case: '100 events/call, c=1',
    ours: oursRate,
    baseline: plainRate,
    unit: 'events/s',
    higherIsBetter: true,
    target: '≥ 0.8×',
    met: oursRate / plainRate >= 0.8,
    note: 'baseline: one multi-row INSERT…SELECT unnest',
  });
  progress(`append batch: ours ${oursRate.toFixed(0)} ev/s, plain ${plainRate.toFixed(0)} ev/s`);
}
