import type { Decider } from '../domain/decider';
import type { RecordedEvent } from './types';

/** Folds stored events with a decider's `evolve`: the same fold the workflow runs, anywhere. */
export function foldRecorded<State, Event>(
  decider: Pick<Decider<unknown, State, Event>, 'initialState' | 'evolve'>,
  recorded: readonly RecordedEvent[],
): State {
  return recorded.reduce((state, e) => decider.evolve(state, { type: e.type, data: e.data } as Event), decider.initialState);
}
