import { stockReservationRows, type StoredStock } from '../application/stockReservationRows';
import {
  evolveStock,
  initialStockState,
  STOCK_STREAM_TYPE,
  stockStreams,
  type Reservation,
  type StockEvent,
  type StockLevels,
  type StockState,
} from '../domain/stock';
import { readStreamsOfType, type Queryable } from '../eventstore';
import { streamIdsOfType } from './streams';
import { ResultBuilder, sameJson, type InvariantFilter, type InvariantResult } from './types';
import { EntryFold } from '../application/keyedEntries';
import { eventSchemas } from '../domain/eventSchemas';

export const STOCK_INVARIANT = { id: '1', title: 'no product oversold (stock fold ≥ 0, reserved ≤ onHand, = aggregate_states + stock_reservations)' };

/**
 * Invariant 1: for every stock stream, the fold of its events never has onHand < 0, reserved < 0
 * or reserved > onHand (checked after every event, so a past oversell is found too), and the final
 * fold equals the state stored: onHand, reserved and version in aggregate_states, the reservations
 * in stock_reservations (plus, until its next command moves them, a map an older worker left in
 * the row).
 */
export async function checkStock(db: Queryable, filter: InvariantFilter = {}): Promise<InvariantResult> {
  const result = new ResultBuilder(STOCK_INVARIANT.id, STOCK_INVARIANT.title);
  const streamIds = streamIdsOfType(filter.streamIds, stockStreams);
  if (streamIds?.length === 0) return result.build();

  const reservationRows = await db.query<{ stream_id: string; reservation_id: string; quantity: number; status: Reservation['status'] }>(
    `SELECT stream_id, reservation_id, quantity, status FROM stock_reservations WHERE $1::text[] IS NULL OR stream_id = ANY($1::text[])`,
    [streamIds ?? null],
  );
  const reservationsOf = new Map<string, Array<[string, Reservation]>>();
  for (const r of reservationRows.rows) {
    const entries = reservationsOf.get(r.stream_id) ?? [];
    entries.push([r.reservation_id, { quantity: r.quantity, status: r.status }]);
    reservationsOf.set(r.stream_id, entries);
  }
  const stored = new Map<string, { state: StockState; version: number }>();
  const { rows } = await db.query<{ stream_id: string; state: StoredStock; version: string }>(
    `SELECT stream_id, state, version FROM aggregate_states
      WHERE stream_type = $1 AND ($2::text[] IS NULL OR stream_id = ANY($2::text[]))`,
    [STOCK_STREAM_TYPE, streamIds ?? null],
  );
  for (const row of rows) {
    const { onHand, reserved, reservations: inRow } = row.state;
    const reservations = { ...inRow, ...Object.fromEntries(reservationsOf.get(row.stream_id) ?? []) };
    stored.set(row.stream_id, { state: { onHand, reserved, reservations }, version: Number(row.version) });
  }

  for await (const stream of readStreamsOfType(db, STOCK_STREAM_TYPE, { streamIds, schemas: eventSchemas })) {
    result.checked();
    let firstBad: string | null = null;
    // One reservation at a time: evolving the whole state would copy every reservation per event.
    const fold = new EntryFold(stockReservationRows, evolveStock, stockReservationRows.rootOf(initialStockState), new Map());
    for (const e of stream.events) {
      fold.apply({ type: e.type, data: e.data } as StockEvent);
      const s = fold.currentRoot as StockLevels;
      if (firstBad === null && (s.onHand < 0 || s.reserved < 0 || s.reserved > s.onHand)) {
        firstBad = `${stream.streamId}: at version ${e.version} (${e.type}) onHand=${s.onHand} reserved=${s.reserved}`;
      }
    }
    const state = fold.state;
    if (firstBad !== null) result.violation(`oversold ${firstBad}`);
    if (stream.events.length !== stream.version) {
      result.violation(`${stream.streamId}: ${stream.events.length} event(s) for stream version ${stream.version}`);
    }
    const row = stored.get(stream.streamId);
    stored.delete(stream.streamId);
    if (!row) {
      result.violation(`${stream.streamId}: no aggregate_states row`);
      continue;
    }
    const mismatches: string[] = [];
    if (row.version !== stream.version) mismatches.push(`version stored ${row.version} ≠ stream ${stream.version}`);
    if (row.state.onHand !== state.onHand) mismatches.push(`onHand stored ${row.state.onHand} ≠ fold ${state.onHand}`);
    if (row.state.reserved !== state.reserved) mismatches.push(`reserved stored ${row.state.reserved} ≠ fold ${state.reserved}`);
    if (!sameJson(row.state.reservations, state.reservations)) mismatches.push('reservations differ from the fold');
    if (mismatches.length > 0) result.violation(`${stream.streamId}: aggregate_states disagrees: ${mismatches.join('; ')}`);
  }
  // A committed state without a stream cannot exist (deferred foreign key); say so if it does.
  for (const [streamId, row] of stored) {
    if (row.version > 0) result.violation(`${streamId}: aggregate_states row at version ${row.version} without a stock stream`);
  }
  return result.build();
}
