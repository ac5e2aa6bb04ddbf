/** Section `fold`: foldStream (and, for comparison, readStream + foldRecorded) of a long order stream against a plain SELECT of the same rows. */
import { randomUUID } from 'node:crypto';
import { ORDER_STREAM_TYPE, orderDecider, orderStreamId } from '../src/domain/order';
import { appendToStream, type EventData } from '../src/eventstore';
import { cfg, ev, median, progress, warmPool, type BenchResults } from './support';
import { foldStream, readStream } from '../src/application/eventStore';
import { foldRecorded } from '../src/application/foldStream';

export async function benchFold(out: BenchResults, url: string): Promise<void> {
  const pool = await warmPool(url, 2);
  const orderId = `bench-fold-${randomUUID().slice(0, 8)}`;
  const streamId = orderStreamId(orderId);
  const products = Array.from({ length: 20 }, (_, i) => `p-${i}`);
  const all: EventData[] = [ev(ORDER_STREAM_TYPE, 'OrderCreated', { orderId, customerId: 'c-1', shippingAddress: null })];
  for (let i = 1; i < cfg.foldEvents; i++) {
    const productId = products[(i - 1) % products.length]!;
    all.push(
      i <= products.length
        ? ev(ORDER_STREAM_TYPE, 'OrderItemAdded', { productId, name: productId, unitPriceCents: 100, quantity: 1, lineTotalCents: 100 })
        : ev(ORDER_STREAM_TYPE, 'OrderItemQuantityChanged', { productId, oldQuantity: 1, newQuantity: 1 + (i % 5) }),
    );
  }
  for (let i = 0; i < all.length; i += 500) await appendToStream(pool, streamId, ORDER_STREAM_TYPE, i, all.slice(i, i + 500));
  const read: number[] = [];
  const fold: number[] = [];
  const total: number[] = [];
  const parse: number[] = [];
  const lean: number[] = [];
  for (let r = 0; r < cfg.foldRuns + 1; r++) {
    const l = performance.now();
    const folded = await foldStream(pool, streamId, orderDecider);
    const m = performance.now();
    if (folded.state.items.length !== products.length || folded.version !== cfg.foldEvents) throw new Error('foldStream produced the wrong state');
    const a = performance.now();
    const recorded = await readStream(pool, streamId);
    const b = performance.now();
    const state = foldRecorded(orderDecider, recorded);
    const c = performance.now();
    if (state.items.length !== products.length) throw new Error('fold produced the wrong state');
    // baseline: the same rows as plain SQL, JSON parsed by pg, no fold
    const d = performance.now();
    await pool.query('SELECT type, data FROM events WHERE stream_id = $1 ORDER BY version', [streamId]);
    const e = performance.now();
    if (r === 0) continue; // warm-up
    lean.push(m - l);
    read.push(b - a);
    fold.push(c - b);
    total.push(c - a);
    parse.push(e - d);
  }
  await pool.end();
  out.details.fold = { events: cfg.foldEvents, foldStreamMs: lean, readMs: read, foldMs: fold, totalMs: total, plainSelectMs: parse };
  const ours = median(lean);
  out.rows.push({
    section: 'fold',
    case: `foldStream(orderDecider), ${cfg.foldEvents} events (median of ${cfg.foldRuns})`,
    ours,
    baseline: median(parse),
    unit: 'ms',
    higherIsBetter: false,
    target: '≤ 50 ms',
    met: ours <= 50,
    note: 'what readOrder runs; baseline: plain SELECT type,data',
  });
  out.rows.push({
    section: 'fold',
    case: `readStream+foldRecorded, ${cfg.foldEvents} events (median of ${cfg.foldRuns})`,
    ours: median(total),
    baseline: median(parse),
    unit: 'ms',
    higherIsBetter: false,
    note: `not a target: the whole-event path, as measured before foldStream; read ${median(read).toFixed(1)} ms + fold ${median(fold).toFixed(1)} ms`,
  });
  progress(
    `fold: foldStream ${ours.toFixed(1)} ms; readStream+foldRecorded ${median(total).toFixed(1)} ms (read ${median(read).toFixed(1)}, fold ${median(fold).toFixed(1)}), plain select ${median(parse).toFixed(1)} ms`,
  );
}
