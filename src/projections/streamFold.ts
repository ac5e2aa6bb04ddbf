import type { StreamNames } from '../domain/streamNames';
import { type Queryable, type RecordedEvent } from '../eventstore';
import { readStream } from '../application/eventStore';

/*
 * What the read models share: folding a batch's events of one stream onto a model row, each event
 * once, with the deciders' own `evolve`.
 */

/**
 * The events of `event`'s stream that a model at `modelVersion` has not folded yet, in version
 * order, up to and including `event`. readAll goes by writer transaction, so a stream's version
 * N+1 can arrive before its version N; the model's version makes each event count once anyway:
 * an event at or below it is already folded, and a gap is filled from the stream itself.
 */
export async function unfolded(tx: Queryable, event: RecordedEvent, modelVersion: number): Promise<RecordedEvent[]> {
  if (event.version <= modelVersion) return [];
  if (event.version === modelVersion + 1) return [event];
  const missing = await readStream(tx, event.streamId, { fromVersion: modelVersion + 1, toVersion: event.version });
  if (missing.length !== event.version - modelVersion) {
    throw new Error(`Stream ${event.streamId} has ${missing.length} events from version ${modelVersion + 1} to ${event.version}`);
  }
  return missing;
}

/**
 * Folds one stream's events of a batch onto a model at `modelVersion`, each event once (see
 * `unfolded`), so the model is read and written once per batch. Undefined when it had them all.
 */
export async function foldOnto<S>(
  tx: Queryable,
  events: readonly RecordedEvent[],
  modelVersion: number,
  start: S,
  evolve: (state: S, event: RecordedEvent) => S,
): Promise<{ state: S; first: RecordedEvent; last: RecordedEvent } | undefined> {
  let state = start;
  let version = modelVersion;
  let first: RecordedEvent | undefined;
  let last: RecordedEvent | undefined;
  for (const event of events) {
    for (const e of await unfolded(tx, event, version)) {
      state = evolve(state, e);
      first ??= e;
      last = e;
      version = e.version;
    }
  }
  return first && last ? { state, first, last } : undefined;
}

/** A recorded event as its decider's event type (`readAll` has upcast it to the current shape). */
export const asEvent = <E>(e: RecordedEvent) => ({ type: e.type, data: e.data }) as E;

/** The aggregate id of a stream a projection was handed; its `streamTypes` let only `names`' type through. */
export function aggregateIdOf(names: StreamNames, streamId: string): string {
  const id = names.idOf(streamId);
  if (id === undefined) throw new Error(`${streamId} is not a ${names.streamType} stream`);
  return id;
}
