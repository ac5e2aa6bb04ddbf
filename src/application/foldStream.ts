import type { Decider } from '../domain/decider';
import { eventSchemas } from '../domain/eventSchemas';
import type { UpcasterRegistry, VersionedEvent } from '../domain/upcasting';

/**
 * Folds stored events with a decider's `evolve`: the same fold the workflow runs, anywhere. Events
 * are upcast first (a no-op for what `readStream` / `readAll` return, which are current already),
 * so `evolve` only ever sees the current shape of an event.
 */
export function foldRecorded<State, Event>(
  decider: Pick<Decider<unknown, State, Event>, 'initialState' | 'evolve'>,
  recorded: readonly VersionedEvent[],
  schemas: UpcasterRegistry = eventSchemas,
): State {
  return recorded.reduce((state, e) => {
    const { type, data } = schemas.upcast(e);
    return decider.evolve(state, { type, data } as Event);
  }, decider.initialState);
}
