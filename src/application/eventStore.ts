import { eventSchemas } from '../domain/eventSchemas';
import * as store from '../eventstore';
import { timedAppend } from '../metrics';

/*
 * The generic event store's readers bound to the domain's event schemas: what the application,
 * the read side and the tools read events through, so every event they see has its current shape.
 */

export const readStream = (db: store.Queryable, streamId: string, range: { fromVersion?: number; toVersion?: number } = {}) =>
  store.readStream(db, streamId, { ...range, schemas: eventSchemas });

export const readAll = (db: store.Queryable, options: { after: store.Checkpoint; limit: number }) => store.readAll(db, { ...options, schemas: eventSchemas });

/** A stream folded with a decider's `evolve` (see the store's `foldStream`): state and version, without reading whole events. */
export const foldStream = <State>(db: store.Queryable, streamId: string, fold: store.StreamFold<State>, range: { toVersion?: number } = {}) =>
  store.foldStream(db, streamId, fold, { ...range, schemas: eventSchemas });

export const firstEvent = (db: store.Queryable, streamId: string) => store.firstEvent(db, streamId, { schemas: eventSchemas });

export const eventsOfTypes = (db: store.Queryable, streamId: string, types: readonly string[], options: { fromVersion?: number; limit?: number } = {}) =>
  store.eventsOfTypes(db, streamId, types, { ...options, schemas: eventSchemas });

export const eventsCorrelatedWith = (db: store.Queryable, streamIds: readonly string[], correlationIds: readonly string[]) =>
  store.eventsCorrelatedWith(db, streamIds, correlationIds, { schemas: eventSchemas });

export const readStreamsOfType = (db: store.Queryable, streamType: string, options: { streamIds?: readonly string[]; pageSize?: number } = {}) =>
  store.readStreamsOfType(db, streamType, { ...options, schemas: eventSchemas });

/**
 * The store's append, counted and timed by stream type (`order_actors_event_store_*`): the
 * generic store knows nothing of metrics, so the application's writers append through this.
 */
export const appendToStream = (db: store.Queryable, streamId: string, streamType: string, expected: store.ExpectedVersion, events: store.EventData[]) =>
  timedAppend(
    streamType,
    (err) => err instanceof store.WrongExpectedVersion,
    () => store.appendToStream(db, streamId, streamType, expected, events),
  );
