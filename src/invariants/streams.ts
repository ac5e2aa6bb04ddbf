import type { StreamNames } from '../domain/streamNames';
import type { AuditedEvent } from '../eventstore';

/** Folds with a decider's evolve, calling `check` after every event (for "never below zero"). */
export function foldChecked<State, Event>(
  initialState: State,
  evolve: (state: State, event: Event) => State,
  events: readonly AuditedEvent[],
  check?: (state: State, event: AuditedEvent) => void,
): State {
  let state = initialState;
  for (const e of events) {
    state = evolve(state, { type: e.type, data: e.data } as Event);
    check?.(state, e);
  }
  return state;
}

/** The ids among `streamIds` of streams of `names`' type, or undefined (= all) without a list. */
export function streamIdsOfType(streamIds: readonly string[] | undefined, names: StreamNames): string[] | undefined {
  return streamIds?.filter((id) => names.idOf(id) !== undefined);
}

/**
 * The aggregate id of a stream read as one of `names`' type. A stream of that type named otherwise
 * (no writer names one so) keeps its whole id, so what the check reports still names it.
 */
export const aggregateIdOf = (names: StreamNames, streamId: string): string => names.idOf(streamId) ?? streamId;

/** Runs `work` over `items`, at most `limit` at a time (the Temporal round trips of invariants 4 and 6). */
export async function withConcurrency<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(lanes);
}
