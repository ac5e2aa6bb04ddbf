import type { Queryable, RecordedEvent } from '../eventstore';

/**
 * A read model fed by the projector. `apply` runs inside the batch's transaction and must write
 * only unqualified table names: a rebuild points `search_path` at a shadow schema.
 */
export interface Projection {
  name: string;
  /** Only these event types reach `apply` (all when absent); the checkpoint passes the others. */
  eventTypes?: readonly string[];
  /** Only events of these stream types (order and stock both have a `StockReserved`). */
  streamTypes?: readonly string[];
  /** The tables `apply` writes: what a rebuild copies into its shadow schema and swaps in. */
  tables?: readonly string[];
  apply(tx: Queryable, event: RecordedEvent): Promise<void>;
}

export function handles(projection: Projection, event: RecordedEvent): boolean {
  return (
    (!projection.eventTypes || projection.eventTypes.includes(event.type)) &&
    (!projection.streamTypes || projection.streamTypes.includes(event.streamType))
  );
}
