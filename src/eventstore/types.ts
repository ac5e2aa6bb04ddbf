/** What a writer hands to `appendToStream`. */
export interface EventData {
  eventId: string;
  type: string;
  data: unknown;
  schemaVersion?: number;
  metadata?: EventMetadata;
  /** When it happened in the domain (the workflow clock for orders), not when it was stored. */
  occurredAt: Date | string;
}

export interface EventMetadata {
  correlationId?: string;
  causationId?: string;
  commandId?: string;
  workflowId?: string;
  [key: string]: unknown;
}

export interface RecordedEvent {
  globalPosition: number;
  transactionId: string;
  streamId: string;
  streamType: string;
  version: number;
  eventId: string;
  type: string;
  schemaVersion: number;
  data: unknown;
  metadata: EventMetadata;
  occurredAt: string;
  recordedAt: string;
}

/**
 * Turns a stored event into its current shape. The store is generic: the domain's registry
 * (`src/domain/eventSchemas.ts`) is handed to every reader, the store never imports it.
 */
export interface EventSchemas {
  upcast<E extends Pick<RecordedEvent, 'streamType' | 'type' | 'schemaVersion' | 'data'>>(event: E): E;
}

/**
 * What the writer believes about the stream: its exact current version, that it does not exist
 * yet, that it exists, or nothing at all.
 */
export type ExpectedVersion = number | 'no_stream' | 'stream_exists' | 'any';

export interface AppendResult {
  /** The stream's version after the append: pass it as the next expected version. */
  nextExpectedVersion: number;
  /** True when these exact events were already stored by an earlier call: nothing was written. */
  alreadyAppended: boolean;
}

/** A position in the global order: (writer's transaction id, global position). */
export interface Checkpoint {
  transactionId: string;
  globalPosition: number;
}

export const START: Checkpoint = { transactionId: '0', globalPosition: 0 };
