import { accountStreams, evolveAccount, initialAccountState, type AccountEvent, type AccountState } from '../domain/account';
import { evolveOrder, initialOrderState, orderStreams, type OrderEvent, type OrderState } from '../domain/order';
import { evolveStock, initialStockState, stockStreams, type StockEvent, type StockState } from '../domain/stock';
import type { StreamNames } from '../domain/streamNames';
import { readStreamsOfType, type Queryable, type StreamAtVersion } from '../eventstore';
import type { AccountSummaryRow } from '../projections/accountSummary';
import { aggregateIdOf, foldChecked, streamIdsOfType } from './streams';
import { ResultBuilder, sameJson, type InvariantFilter, type InvariantResult } from './types';
import { eventSchemas } from '../domain/eventSchemas';

export const READ_MODEL_INVARIANT = { id: '5', title: 'read models = fold of the event table (rows at the stream version)' };

type Row = Record<string, unknown> & { version: string };

async function rowsByKey<R>(db: Queryable, sql: string, keys: string[], key: (r: R) => string): Promise<Map<string, R>> {
  const { rows } = await db.query<R & Record<string, unknown>>(sql, [keys]);
  return new Map(rows.map((r) => [key(r), r]));
}

/** Rows behind their stream are the projector's normal lag; rows ahead of it are a violation. */
function compareVersions(result: ResultBuilder, model: string, streamId: string, rowVersion: number | null, streamVersion: number): boolean {
  if (rowVersion === null || rowVersion < streamVersion) {
    result.count('lagging');
    result.note(`${model} for ${streamId} lagging: row at ${rowVersion ?? 'none'}, stream at ${streamVersion}`);
    return false;
  }
  if (rowVersion > streamVersion) {
    result.violation(`${model} for ${streamId}: row at version ${rowVersion} ahead of the stream (${streamVersion})`);
    return false;
  }
  return true;
}

/** Batches a stream type's streams (those of the filter) so each page's model rows are fetched in one query. */
async function forEachPage(db: Queryable, names: StreamNames, filter: InvariantFilter, page: (streams: StreamAtVersion[]) => Promise<void>) {
  const streamIds = streamIdsOfType(filter.streamIds, names);
  if (streamIds?.length === 0) return;
  let batch: StreamAtVersion[] = [];
  for await (const stream of readStreamsOfType(db, names.streamType, { streamIds, schemas: eventSchemas })) {
    batch.push(stream);
    if (batch.length >= 500) {
      await page(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await page(batch);
}

/**
 * Invariant 5: every read model row at its stream's version equals the fold of that stream:
 * order_summary (state and its columns) vs the order fold, account_summary counters vs the
 * account fold, catalog stock columns vs the stock fold. Rows behind (or missing) are counted as
 * lagging, not violations.
 */
export async function checkReadModels(db: Queryable, filter: InvariantFilter = {}): Promise<InvariantResult> {
  const result = new ResultBuilder(READ_MODEL_INVARIANT.id, READ_MODEL_INVARIANT.title);

  await forEachPage(db, orderStreams, filter, async (streams) => {
    const rows = await rowsByKey<Row & { order_id: string; state: OrderState; status: string; customer_id: string; total_cents: string; items: unknown }>(
      db,
      'SELECT order_id, customer_id, status, items, total_cents, version, state FROM order_summary WHERE order_id = ANY($1::text[])',
      streams.map((s) => aggregateIdOf(orderStreams, s.streamId)),
      (r) => r.order_id,
    );
    for (const stream of streams) {
      result.checked();
      result.count('orders');
      const row = rows.get(aggregateIdOf(orderStreams, stream.streamId));
      if (!compareVersions(result, 'order_summary', stream.streamId, row ? Number(row.version) : null, stream.version)) continue;
      const fold = foldChecked<OrderState, OrderEvent>(initialOrderState, evolveOrder, stream.events);
      const diffs: string[] = [];
      if (!sameJson(row!.state, fold)) diffs.push('state');
      if (row!.status !== fold.status) diffs.push(`status ${row!.status} ≠ ${fold.status}`);
      if (row!.customer_id !== (fold.customerId ?? '')) diffs.push('customer_id');
      if (Number(row!.total_cents) !== fold.totalCents) diffs.push(`total_cents ${row!.total_cents} ≠ ${fold.totalCents}`);
      if (!sameJson(row!.items, fold.items)) diffs.push('items');
      if (diffs.length > 0) result.violation(`order_summary for ${stream.streamId} at version ${stream.version} differs from the fold: ${diffs.join(', ')}`);
    }
  });

  await forEachPage(db, accountStreams, filter, async (streams) => {
    const rows = await rowsByKey<Row & AccountSummaryRow>(
      db,
      'SELECT * FROM account_summary WHERE customer_id = ANY($1::text[])',
      streams.map((s) => aggregateIdOf(accountStreams, s.streamId)),
      (r) => r.customer_id,
    );
    for (const stream of streams) {
      result.checked();
      result.count('accounts');
      const row = rows.get(aggregateIdOf(accountStreams, stream.streamId));
      if (!compareVersions(result, 'account_summary', stream.streamId, row ? Number(row.version) : null, stream.version)) continue;
      const fold = foldChecked<AccountState, AccountEvent>(initialAccountState, evolveAccount, stream.events);
      reportDiffs(result, `account_summary for ${stream.streamId} at version ${stream.version}`, [
        ['balance', Number(row!.balance_cents), fold.balanceCents],
        ['deposits', Number(row!.total_deposits_cents), fold.totalDepositsCents],
        ['withdrawals', Number(row!.total_withdrawals_cents), fold.totalWithdrawalsCents],
        ['transactions', Number(row!.transaction_count), fold.transactionCount],
      ]);
    }
  });

  await forEachPage(db, stockStreams, filter, async (streams) => {
    const rows = await rowsByKey<{ product_id: string; on_hand: string; reserved: string; stock_version: string }>(
      db,
      'SELECT product_id, on_hand, reserved, stock_version FROM catalog WHERE product_id = ANY($1::text[])',
      streams.map((s) => aggregateIdOf(stockStreams, s.streamId)),
      (r) => r.product_id,
    );
    for (const stream of streams) {
      result.checked();
      result.count('stock');
      const row = rows.get(aggregateIdOf(stockStreams, stream.streamId));
      if (!compareVersions(result, 'catalog stock', stream.streamId, row ? Number(row.stock_version) : null, stream.version)) continue;
      const fold = foldChecked<StockState, StockEvent>(initialStockState, evolveStock, stream.events);
      reportDiffs(result, `catalog for ${stream.streamId} at version ${stream.version}`, [
        ['on_hand', Number(row!.on_hand), fold.onHand],
        ['reserved', Number(row!.reserved), fold.reserved],
      ]);
    }
  });

  return result.build();
}

/** One violation naming every column where a model row and the fold disagree. */
function reportDiffs(result: { violation(message: string): void }, what: string, columns: Array<[string, number, number]>): void {
  const diffs = columns.filter(([, stored, folded]) => stored !== folded).map(([name, stored, folded]) => `${name} ${stored} ≠ ${folded}`);
  if (diffs.length > 0) result.violation(`${what} differs from the fold: ${diffs.join(', ')}`);
}
