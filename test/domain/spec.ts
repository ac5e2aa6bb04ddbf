import { DomainError, fold, type Decider } from '../../src/domain/decider';

/*
 * Given/when/then for pure deciders, in the style of Emmett's DeciderSpecification:
 *
 *   const spec = deciderSpec(orderDecider);
 *   spec.given([...events]).when(command).then([...expectedEvents]);
 *   spec.given([...events]).when(command).thenThrows('ERROR_CODE', 'conflict');
 *
 * `given` folds the history with `evolve` from `initialState`; `when` runs nothing until
 * `then`/`thenThrows` is called. Both also check that `decide` left the given state untouched.
 */

export interface DeciderSpec<Command, State, Event> {
  given(events: readonly Event[]): Given<Command, State, Event>;
}

export interface Given<Command, State, Event> {
  when(command: Command): When<State, Event>;
}

export interface When<State, Event> {
  /** Asserts the decided events; returns the state after the history and those events are folded. */
  then(expected: readonly Event[]): State;
  /** Asserts that the command is refused with a `DomainError` of this `code` (and `kind`, when given). */
  thenThrows(code: string, kind?: DomainError['kind']): void;
}

export function deciderSpec<Command, State, Event>(decider: Decider<Command, State, Event>): DeciderSpec<Command, State, Event> {
  return {
    given(history) {
      return {
        when(command) {
          const decide = (): Event[] => {
            const state = fold(decider, history);
            const before = structuredClone(state);
            try {
              return decider.decide(command, state);
            } finally {
              // A decider is pure: deciding must not change the state it was handed.
              expect(state).toEqual(before);
            }
          };
          return {
            then(expected) {
              const events = decide();
              expect(events).toEqual(expected);
              return fold(decider, [...history, ...events]);
            },
            thenThrows(code, kind) {
              let events: Event[];
              try {
                events = decide();
              } catch (error) {
                expect(error).toBeInstanceOf(DomainError);
                const { code: actualCode, kind: actualKind } = error as DomainError;
                if (kind === undefined) expect(actualCode).toBe(code);
                else expect({ code: actualCode, kind: actualKind }).toEqual({ code, kind });
                return;
              }
              throw new Error(`Expected DomainError ${code}, but the command was accepted with events: ${JSON.stringify(events)}`);
            },
          };
        },
      };
    },
  };
}
