import type { Queryable, RecordedEvent } from '../eventstore';

/**
 * A read model fed by the projector. `applyStream` runs inside the batch's transaction and must
 * write only unqualified table names: a rebuild points `search_path` at a shadow schema.
 */
export interface Projection {
  name: string;
  /** Only these event types reach `applyStream` (all when absent); the checkpoint passes the others. */
  eventTypes?: readonly string[];
  /** Only events of these stream types (order and stock both have a `StockReserved`). */
  streamTypes?: readonly string[];
  /** The tables `applyStream` writes: what a rebuild copies into its shadow schema and swaps in. */
  tables?: readonly string[];
  /**
   * Applies events of ONE stream, in the order the batch read them (one or more): a batch's events
   * of a stream are handed over together so a model folds them once and writes its row once.
   */
  applyStream(tx: Queryable, events: readonly RecordedEvent[]): Promise<void>;
  /**
   * Optional: applies a batch's groups of several streams at once (one group per stream, as
   * `applyStream` takes them), so a model reads and writes all its rows in a few statements
   * instead of a few per stream. Without it the projector calls `applyStream` per stream.
   */
  applyStreams?(tx: Queryable, streams: readonly (readonly RecordedEvent[])[]): Promise<void>;
}

export function handles(projection: Projection, event: RecordedEvent): boolean {
  return (
    (!projection.eventTypes || projection.eventTypes.includes(event.type)) && (!projection.streamTypes || projection.streamTypes.includes(event.streamType))
  );
}

/** The events `projection` handles, grouped by stream in order of first appearance; each group keeps the batch's order. */
export function handledByStream(projection: Projection, events: readonly RecordedEvent[]): RecordedEvent[][] {
  const streams = new Map<string, RecordedEvent[]>();
  for (const event of events) {
    if (!handles(projection, event)) continue;
    const group = streams.get(event.streamId);
    if (group) group.push(event);
    else streams.set(event.streamId, [event]);
  }
  return [...streams.values()];
}
