import type { Decider } from '../domain/decider';
import { appendToStream } from './appendToStream';
import { eventSchemas } from './eventSchemas';
import { idempotency, toEventData, type CommandHostOptions, type DomainEvent, type HandledCommand } from './handleCommand';
import type { Queryable } from './queryable';
import type { EventMetadata } from './types';

/** A connection that can be held for a transaction: a pg Pool is one. */
export interface TransactionalDb extends Queryable {
  connect(): Promise<TransactionClient>;
}

export interface TransactionClient extends Queryable {
  /** `true` destroys the connection instead of returning it to the pool. */
  release(destroy?: Error | boolean): void;
}

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
async function lockState<State>(client: Queryable, stream: { id: string; type: string }, initialState: State) {
  let { rows } = await client.query<StateRow>(SELECT_FOR_UPDATE, [stream.id]);
  if (rows.length === 0) {
    await client.query(
      `INSERT INTO aggregate_states (stream_id, stream_type, state, version) VALUES ($1, $2, $3, 0)
         ON CONFLICT (stream_id) DO NOTHING`,
      [stream.id, stream.type, JSON.stringify(initialState)],
    );
    ({ rows } = await client.query<StateRow>(SELECT_FOR_UPDATE, [stream.id]));
  }
  const row = rows[0];
  if (!row) throw new Error(`Could not lock the state of ${stream.id}`);
  if (row.stream_type !== stream.type) throw new Error(`Stream ${stream.id} is a ${row.stream_type}, not a ${stream.type}`);
  const version = Number(row.version);
  return { state: version === 0 ? initialState : (row.state as State), version };
}

/** Under the row lock: whether the stream already holds an event of this command (see CommandHostOptions). */
async function commandStored(client: Queryable, streamId: string, { commandId, isRepeatOf }: ReturnType<typeof idempotency>): Promise<boolean> {
  if (commandId === undefined) return false;
  const { rows } = await client.query<{ metadata: EventMetadata }>(`SELECT metadata FROM events WHERE stream_id = $1 AND metadata->>'commandId' = $2 LIMIT 1`, [
    streamId,
    commandId,
  ]);
  return rows.some((r) => isRepeatOf(r.metadata));
}

/**
 * Hosts a decider as a state-stored aggregate: in one transaction, lock the state row, decide,
 * write the new state and append the events at the version the row had. All or nothing. The row
 * lock makes writers to one aggregate take turns, so a decision is never made on a stale state
 * and there is nothing to retry. State must survive a JSON round trip. Events are stored at the
 * current schema version of their type (`schemas`, the application's registry by default).
 */
export async function handleStateStoredCommand<Command, State, Event extends DomainEvent>(
  db: TransactionalDb,
  decider: Decider<Command, State, Event>,
  stream: { id: string; type: string },
  command: Command,
  options: CommandHostOptions,
): Promise<HandledCommand<State, Event>> {
  const schemas = options.schemas ?? eventSchemas;
  const client = await db.connect();
  let destroy = false;
  try {
    await client.query('BEGIN');
    const current = await lockState(client, stream, decider.initialState);
    const idempotent = idempotency(command, options);
    const events = (await commandStored(client, stream.id, idempotent)) ? [] : decider.decide(command, current.state);
    if (events.length === 0) {
      await client.query('ROLLBACK'); // also drops a row this transaction just created
      return { state: current.state, version: current.version, events };
    }
    const state = events.reduce(decider.evolve, current.state);
    const occurredAt = options.now();
    const appended = await appendToStream(
      client,
      stream.id,
      stream.type,
      current.version === 0 ? 'no_stream' : current.version,
      toEventData(events, stream.type, { ...options, metadata: idempotent.metadata }, schemas, occurredAt),
    );
    // Under the row lock the stream can only be at the row's version; anything else is corruption.
    if (appended.alreadyAppended) throw new Error(`Stream ${stream.id} already holds these events but its state is at ${current.version}`);
    await client.query('UPDATE aggregate_states SET state = $2, version = $3, updated_at = now() WHERE stream_id = $1', [
      stream.id,
      JSON.stringify(state),
      appended.nextExpectedVersion,
    ]);
    await client.query('COMMIT');
    return { state, version: appended.nextExpectedVersion, events };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {
      destroy = true; // a connection that cannot roll back must not go back to the pool
    });
    throw err;
  } finally {
    client.release(destroy);
  }
}

/** The stored state and version of a state-stored aggregate, or null when it has none yet. */
export async function readAggregateState<State>(db: Queryable, streamId: string): Promise<{ state: State; version: number } | null> {
  const { rows } = await db.query<{ state: State; version: string }>('SELECT state, version FROM aggregate_states WHERE stream_id = $1', [streamId]);
  const row = rows[0];
  return row ? { state: row.state, version: Number(row.version) } : null;
}
