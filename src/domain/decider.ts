/**
 * A decider is the whole behaviour of one aggregate as data: pure functions, no I/O, no clock.
 * Workflows, the Postgres command handler and the read side all host the same deciders.
 */
export interface Decider<Command, State, Event> {
  initialState: State;
  decide(command: Command, state: State): Event[];
  evolve(state: State, event: Event): State;
}

/** A command the rules refuse. `code` is stable: clients and tests match on it. */
export class DomainError extends Error {
  override readonly name = 'DomainError';
  constructor(
    readonly code: string,
    message: string,
    /**
     * `conflict`: not possible in the current state; `rule`: never valid as given; `not_found`: no
     * such aggregate; `precondition`: the caller expected another version.
     */
    readonly kind: 'conflict' | 'rule' | 'not_found' | 'precondition' = 'rule',
  ) {
    super(message);
  }
}

export function fold<State, Event>(decider: Pick<Decider<unknown, State, Event>, 'initialState' | 'evolve'>, events: readonly Event[]): State {
  return events.reduce(decider.evolve, decider.initialState);
}

/** Commands decided in turn, each on the state the previous ones left, as one: all their events or none. */
export function inSequence<Command, State, Event>(decider: Decider<Command, State, Event>): Decider<readonly Command[], State, Event> {
  return {
    initialState: decider.initialState,
    evolve: decider.evolve,
    decide(commands, state) {
      const events: Event[] = [];
      for (const command of commands) {
        const decided = decider.decide(command, state);
        state = decided.reduce(decider.evolve, state);
        events.push(...decided);
      }
      return events;
    },
  };
}
