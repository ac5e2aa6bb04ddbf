import type { Queryable } from '../eventstore';

/**
 * The part of an aggregate's state that grows with its age (a stock's reservations, an account's
 * payments), kept as one row per key beside the state instead of inside it. A host composes the
 * decider's state from the stored root and only the entries a command names, and writes back only
 * the entries its events changed, so one command costs the same on an aggregate of any age.
 *
 * The contract with the decider: `decide` reads the root and the entries of `keysOf(command)`,
 * and `evolve` reads and changes the root and the entry of `keyOf(event)`, nothing else.
 */
export interface KeyedEntries<Command, State, Event, Entry> {
  /** The keys of the entries `decide` reads for this command. */
  keysOf(command: Command): readonly string[];
  /** The key of the entry `evolve` changes for this event, if any. */
  keyOf(event: Event): string | undefined;
  /** What the state row or snapshot stores (as JSON): the state without its entries. */
  rootOf(state: State): unknown;
  entryOf(state: State, key: string): Entry | undefined;
  /** The state made of a stored root and these entries. */
  compose(root: unknown, entries: ReadonlyMap<string, Entry>): State;
  /** The stored entries of `keys` (those that exist); `root` is the stored root they belong to. */
  load(db: Queryable, streamId: string, root: unknown, keys: readonly string[]): Promise<Map<string, Entry>>;
  /** Stores these entries over what is stored under their keys. */
  save(db: Queryable, streamId: string, entries: ReadonlyMap<string, Entry>): Promise<void>;
}

/** A state without keyed entries: the whole of it is the root. */
export function wholeState<State>(): KeyedEntries<unknown, State, unknown, never> {
  return {
    keysOf: () => [],
    keyOf: () => undefined,
    rootOf: (state) => state,
    entryOf: () => undefined,
    compose: (root) => root as State,
    load: async () => new Map<string, never>(),
    save: async () => undefined,
  };
}

/**
 * Folds events onto a root and a map of entries, each on a state made of the root and that
 * event's entry only: a constant cost per event, where evolving the whole state would copy every
 * entry each time. Remembers the entries it changed, for the host to store.
 */
export class EntryFold<State, Event, Entry> {
  private root: unknown;
  readonly changed = new Map<string, Entry>();

  constructor(
    private readonly keyed: KeyedEntries<unknown, State, Event, Entry>,
    private readonly evolve: (state: State, event: Event) => State,
    root: unknown,
    private readonly entries: Map<string, Entry>,
  ) {
    this.root = root;
  }

  apply(event: Event): void {
    const key = this.keyed.keyOf(event);
    const entry = key === undefined ? undefined : this.entries.get(key);
    const next = this.evolve(this.keyed.compose(this.root, new Map(key !== undefined && entry !== undefined ? [[key, entry]] : [])), event);
    this.root = this.keyed.rootOf(next);
    const changed = key === undefined ? undefined : this.keyed.entryOf(next, key);
    if (key !== undefined && changed !== undefined) {
      this.entries.set(key, changed);
      this.changed.set(key, changed);
    }
  }

  /** The root as it is now. */
  get currentRoot(): unknown {
    return this.root;
  }

  /** The state made of the root and every entry folded or loaded so far. */
  get state(): State {
    return this.keyed.compose(this.root, this.entries);
  }

  /** The state made of the root and the entries of these keys. */
  stateWith(keys: readonly string[]): State {
    return this.keyed.compose(this.root, new Map(keys.flatMap((k) => (this.entries.has(k) ? [[k, this.entries.get(k)!] as const] : []))));
  }
}
