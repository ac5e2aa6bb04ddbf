import { createHash } from 'node:crypto';
import { DomainError, type Decider } from '../domain/decider';
import { appendToStream } from './appendToStream';
import { eventSchemas } from './eventSchemas';
import { foldRecorded } from './foldStream';
import { WrongExpectedVersion } from './errors';
import type { Queryable } from './queryable';
import { readStream } from './read';
import type { EventData, EventMetadata } from './types';
import type { UpcasterRegistry } from './upcasters';

export interface DomainEvent {
  type: string;
  data: unknown;
}

/** A host's new events as stored: fresh ids, the current schema version of each type, one time. */
export function toEventData(
  events: readonly DomainEvent[],
  streamType: string,
  options: { metadata?: EventMetadata; newEventId: () => string },
  schemas: UpcasterRegistry,
  occurredAt: Date,
): EventData[] {
  return events.map((e) => ({
    eventId: options.newEventId(),
    type: e.type,
    schemaVersion: schemas.currentSchemaVersion(streamType, e.type),
    data: e.data,
    occurredAt,
    metadata: options.metadata,
  }));
}

export interface HandledCommand<State, Event> {
  state: State;
  version: number;
  events: Event[];
}

export interface CommandHostOptions {
  metadata?: EventMetadata;
  newEventId: () => string;
  now: () => Date;
  schemas?: UpcasterRegistry;
  /**
   * A command whose `metadata.commandId` an event of the stream already carries was applied
   * before: answer the current state and decide nothing (an HTTP retry with its Idempotency-Key).
   * The same id on a different command is refused (422 IDEMPOTENCY_KEY_REUSED).
   */
  skipIfCommandStored?: boolean;
}

/**
 * With `skipIfCommandStored`: the metadata to store (the command id and a fingerprint of the
 * command) and how to tell whether a stored event's metadata is this command again.
 */
export function idempotency(command: unknown, options: CommandHostOptions) {
  const commandId = options.skipIfCommandStored ? options.metadata?.commandId : undefined;
  if (commandId === undefined) return { commandId, metadata: options.metadata, isRepeatOf: () => false };
  const fingerprint = createHash('sha256').update(JSON.stringify(command)).digest('base64url');
  return {
    /** The id to look for in the stream; undefined when the host does not skip stored commands. */
    commandId,
    metadata: { ...options.metadata, commandFingerprint: fingerprint },
    isRepeatOf(stored: EventMetadata): boolean {
      if (stored.commandId !== commandId) return false;
      if (stored.commandFingerprint !== undefined && stored.commandFingerprint !== fingerprint) {
        throw new DomainError('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was already used for a different request.');
      }
      return true;
    },
  };
}

/**
 * Hosts a decider on Postgres: read the stream, fold, decide, append at the version read. When
 * another writer got there first, start over from a fresh read, a bounded number of times.
 * The decider sees events in their current schema and its new events are stored at the current
 * schema version of their type (`schemas`, the application's registry by default).
 */
export async function handleCommand<Command, State, Event extends DomainEvent>(
  db: Queryable,
  decider: Decider<Command, State, Event>,
  stream: { id: string; type: string },
  command: Command,
  options: CommandHostOptions & { maxAttempts?: number },
): Promise<HandledCommand<State, Event>> {
  const maxAttempts = options.maxAttempts ?? 5;
  const schemas = options.schemas ?? eventSchemas;
  const { metadata, isRepeatOf } = idempotency(command, options);
  for (let attempt = 1; ; attempt++) {
    const recorded = await readStream(db, stream.id, { schemas });
    const version = recorded.length;
    const state = foldRecorded(decider, recorded, schemas);
    if (recorded.some((e) => isRepeatOf(e.metadata))) return { state, version, events: [] };
    const events = decider.decide(command, state);
    if (events.length === 0) return { state, version, events };
    try {
      const occurredAt = options.now();
      const result = await appendToStream(
        db,
        stream.id,
        stream.type,
        version === 0 ? 'no_stream' : version,
        toEventData(events, stream.type, { ...options, metadata }, schemas, occurredAt),
      );
      return { state: events.reduce(decider.evolve, state), version: result.nextExpectedVersion, events };
    } catch (err) {
      if (!(err instanceof WrongExpectedVersion) || attempt >= maxAttempts) throw err;
    }
  }
}
