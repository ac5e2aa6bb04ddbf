import type { Decider } from '../domain/decider';
import { eventSchemas } from '../domain/eventSchemas';
import { inTransaction, type Queryable, type TransactionalDb } from '../eventstore';
import { appendToStream } from './eventStore';
import { commandStored, idempotency, toEventData, type CommandHostOptions, type DomainEvent, type HandledCommand } from './handleCommand';
import { EntryFold, wholeState, type KeyedEntries } from './keyedEntries';

interface StateRow {
  stream_type: string;
  state: unknown;
  version: string;
}

const SELECT_FOR_UPDATE = 'SELECT stream_type, state, version FROM aggregate_states WHERE stream_id = $1 FOR UPDATE';

/**
 * Locks the aggregate's state row, creating it (version 0) when it is missing. Concurrent creators
 * queue on the insert's key and then on the row lock, so exactly one of them sees version 0.
 */
async function lockState(client: Queryable, stream: { id: string; type: string }, initialRoot: unknown) {
  let { rows } = await client.query<StateRow>(SELECT_FOR_UPDATE, [stream.id]);
  if (rows.length === 0) {
    await client.query(
      `INSERT INTO aggregate_states (stream_id, stream_type, state, version) VALUES ($1, $2, $3, 0)
         ON CONFLICT (stream_id) DO NOTHING`,
      [stream.id, stream.type, JSON.stringify(initialRoot)],
    );
    ({ rows } = await client.query<StateRow>(SELECT_FOR_UPDATE, [stream.id]));
  }
  const row = rows[0];
  if (!row) throw new Error(`Could not lock the state of ${stream.id}`);
  if (row.stream_type !== stream.type) throw new Error(`Stream ${stream.id} is a ${row.stream_type}, not a ${stream.type}`);
  const version = Number(row.version);
  return { root: version === 0 ? initialRoot : row.state, version };
}

/**
 * Hosts a decider as a state-stored aggregate: in one transaction, lock the state row, decide,
 * write the new state and append the events at the version the row had. All or nothing. The row
 * lock makes writers to one aggregate take turns, so a decision is never made on a stale state
 * and there is nothing to retry. State must survive a JSON round trip. Events are stored at the
 * current schema version of their type (`schemas`, the application's registry by default).
 *
 * With `entries`, the row holds only the state's root and its growing map lives in keyed rows
 * (see KeyedEntries): the answer's `state` then holds only the entries the command read or changed.
 */
export async function handleStateStoredCommand<Command, State, Event extends DomainEvent, Entry = never>(
  db: TransactionalDb,
  decider: Decider<Command, State, Event>,
  stream: { id: string; type: string },
  command: Command,
  options: CommandHostOptions & { entries?: KeyedEntries<Command, State, Event, Entry> },
): Promise<HandledCommand<State, Event>> {
  const schemas = options.schemas ?? eventSchemas;
  const keyed: KeyedEntries<Command, State, Event, Entry> = options.entries ?? wholeState<State>();
  return inTransaction(db, async (client) => {
    const locked = await lockState(client, stream, keyed.rootOf(decider.initialState));
    const keys = keyed.keysOf(command);
    const fold = new EntryFold(keyed, decider.evolve, locked.root, await keyed.load(client, stream.id, locked.root, keys));
    const current = fold.stateWith(keys);
    const idempotent = idempotency(command, options);
    const events = (await commandStored(client, stream, idempotent)) ? [] : decider.decide(command, current);
    // No events: the rollback also drops a row this transaction just created.
    if (events.length === 0) return { commit: false, result: { state: current, version: locked.version, events } };
    events.forEach((e) => fold.apply(e));
    const state = fold.stateWith([...keys, ...fold.changed.keys()]);
    const appended = await appendToStream(
      client,
      stream.id,
      stream.type,
      locked.version === 0 ? 'no_stream' : locked.version,
      toEventData(events, stream.type, { ...options, metadata: idempotent.metadata }, schemas, options.now()),
    );
    // Under the row lock the stream can only be at the row's version; anything else is corruption.
    if (appended.alreadyAppended) throw new Error(`Stream ${stream.id} already holds these events but its state is at ${locked.version}`);
    await client.query('UPDATE aggregate_states SET state = $2, version = $3, updated_at = now() WHERE stream_id = $1', [
      stream.id,
      JSON.stringify(fold.currentRoot),
      appended.nextExpectedVersion,
    ]);
    await keyed.save(client, stream.id, fold.changed);
    return { commit: true, result: { state, version: appended.nextExpectedVersion, events } };
  });
}

/** The stored state (the root, for an aggregate with keyed entries) and version, or null when it has none yet. */
export async function readAggregateState<State>(db: Queryable, streamId: string): Promise<{ state: State; version: number } | null> {
  const { rows } = await db.query<{ state: State; version: string }>('SELECT state, version FROM aggregate_states WHERE stream_id = $1', [streamId]);
  const row = rows[0];
  return row ? { state: row.state, version: Number(row.version) } : null;
}
