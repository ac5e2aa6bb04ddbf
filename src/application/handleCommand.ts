import { createHash } from 'node:crypto';
import { DatabaseError } from 'pg';
import { DomainError, type Decider } from '../domain/decider';
import { eventSchemas } from '../domain/eventSchemas';
import type { UpcasterRegistry } from '../domain/upcasting';
import {
  eventsOfCommands,
  inTransaction,
  readStream,
  streamVersion,
  WrongExpectedVersion,
  type EventData,
  type EventMetadata,
  type Queryable,
  type TransactionalDb,
} from '../eventstore';
import { appendToStream } from './eventStore';
import { foldRecorded } from './foldStream';
import { EntryFold, type KeyedEntries } from './keyedEntries';

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
 * Whether the stream already holds an event of this command (see CommandHostOptions), by the
 * `events_by_command` index: the cost does not grow with the stream.
 */
export async function commandStored(
  db: Queryable,
  stream: { id: string; type: string },
  { commandId, isRepeatOf }: ReturnType<typeof idempotency>,
): Promise<boolean> {
  if (commandId === undefined) return false;
  return (await eventsOfCommands(db, stream, [commandId])).some((e) => isRepeatOf(e.metadata));
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

export interface SnapshotOptions<Command, State, Event, Entry> {
  entries: KeyedEntries<Command, State, Event, Entry>;
  /**
   * The shape of the stored root and entries. A snapshot of another shape is ignored and rebuilt
   * from the stream by the next command: bump it whenever `evolve` or the root changes.
   */
  snapshotSchema: number;
}

/** A concurrent append, seen by REPEATABLE READ as a serialization failure rather than a wrong version. */
const isConflict = (err: unknown): boolean => err instanceof WrongExpectedVersion || (err instanceof DatabaseError && err.code === '40001');

/**
 * Hosts an event-sourced decider whose fold is kept as a snapshot in `stream_snapshots` (the root,
 * at a version) and keyed entry rows (see KeyedEntries), so a command reads the snapshot, the
 * events after it (none, unless a writer without snapshots appended) and the entries it names,
 * never the whole stream. In one REPEATABLE READ transaction: read, decide, append at the version
 * read, and write the new snapshot and the changed entries, so they always match the stream up to
 * their version. A concurrent append fails the transaction (a wrong version or a serialization
 * failure) and the command starts over from a fresh read, a bounded number of times; the last
 * conflict is thrown as a WrongExpectedVersion. The answer's `state` holds only the entries the
 * command read or changed.
 */
export async function handleSnapshottedCommand<Command, State, Event extends DomainEvent, Entry>(
  db: TransactionalDb,
  decider: Decider<Command, State, Event>,
  stream: { id: string; type: string },
  command: Command,
  options: CommandHostOptions & SnapshotOptions<Command, State, Event, Entry> & { maxAttempts?: number },
): Promise<HandledCommand<State, Event>> {
  const maxAttempts = options.maxAttempts ?? 5;
  const schemas = options.schemas ?? eventSchemas;
  const keyed = options.entries;
  const idempotent = idempotency(command, options);
  let expected = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      return await inTransaction(
        db,
        async (client) => {
          const snapshot = await readSnapshot(client, stream.id, options.snapshotSchema);
          const later = await readStream(client, stream.id, { fromVersion: (snapshot?.version ?? 0) + 1, schemas });
          const laterEvents = later.map((e) => ({ type: e.type, data: e.data }) as Event);
          const keys = keyed.keysOf(command);
          const root = snapshot?.root ?? keyed.rootOf(decider.initialState);
          // Without a snapshot every entry is folded from the stream, so none is read.
          const toLoad = snapshot ? [...new Set([...keys, ...laterEvents.flatMap((e) => keyed.keyOf(e) ?? [])])] : [];
          const fold = new EntryFold(keyed, decider.evolve, root, await keyed.load(client, stream.id, root, toLoad));
          laterEvents.forEach((e) => fold.apply(e));
          const state = fold.stateWith(keys);
          const version = later.at(-1)?.version ?? snapshot?.version ?? 0;
          expected = version;
          if (await commandStored(client, stream, idempotent)) return { commit: false, result: { state, version, events: [] } };
          const events = decider.decide(command, state);
          if (events.length === 0) return { commit: false, result: { state, version, events } };
          const appended = await appendToStream(
            client,
            stream.id,
            stream.type,
            version === 0 ? 'no_stream' : version,
            toEventData(events, stream.type, { ...options, metadata: idempotent.metadata }, schemas, options.now()),
          );
          events.forEach((e) => fold.apply(e));
          await client.query(
            `INSERT INTO stream_snapshots (stream_id, stream_type, version, schema_version, state) VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (stream_id) DO UPDATE
               SET version = EXCLUDED.version, schema_version = EXCLUDED.schema_version, state = EXCLUDED.state, updated_at = now()`,
            [stream.id, stream.type, appended.nextExpectedVersion, options.snapshotSchema, JSON.stringify(fold.currentRoot)],
          );
          await keyed.save(client, stream.id, fold.changed);
          const after = fold.stateWith([...keys, ...events.flatMap((e) => keyed.keyOf(e) ?? [])]);
          return { commit: true, result: { state: after, version: appended.nextExpectedVersion, events } };
        },
        'REPEATABLE READ',
      );
    } catch (err) {
      if (!isConflict(err)) throw err;
      if (attempt >= maxAttempts)
        throw err instanceof WrongExpectedVersion ? err : new WrongExpectedVersion(stream.id, expected, await streamVersion(db, stream.id));
    }
  }
}

async function readSnapshot(db: Queryable, streamId: string, schema: number): Promise<{ root: unknown; version: number } | null> {
  const { rows } = await db.query<{ state: unknown; version: string }>(
    'SELECT state, version FROM stream_snapshots WHERE stream_id = $1 AND schema_version = $2',
    [streamId, schema],
  );
  const row = rows[0];
  return row ? { root: row.state, version: Number(row.version) } : null;
}
