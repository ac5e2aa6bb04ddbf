/*
 * Event schema evolution: stored events are never rewritten. When the shape of an event type
 * changes, its schema version goes up by one and an upcaster turns data of the previous version
 * into the new shape. Readers apply the chain on every read, so everything downstream of
 * `readStream` / `readAll` (folds, projections, time travel, the API) sees the current shape only.
 *
 * Pure data and functions, no I/O: the domain registers its upcasters here (`eventSchemas.ts`),
 * the order workflow's sandbox asks it for `currentSchemaVersion`, and the event store's readers
 * take the registry as an argument (`EventSchemas`), so neither imports the other.
 */

/** Where an event type lives: the same type name may mean different things in different streams. */
export interface EventTypeKey {
  streamType: string;
  type: string;
}

/** Turns `data` of `fromVersion` into the shape of `fromVersion + 1`. Must be pure. */
export interface Upcaster extends EventTypeKey {
  fromVersion: number;
  upcast(data: unknown): unknown;
}

/** A typed upcaster: the data types of both versions are checked where it is written. */
export function defineUpcaster<From, To>(upcaster: EventTypeKey & { fromVersion: number; upcast(data: From): To }): Upcaster {
  return upcaster;
}

/** The envelope fields the registry needs; `readStream` and `readAll` hand it whole recorded events. */
export interface VersionedEvent {
  streamType: string;
  type: string;
  schemaVersion: number;
  data: unknown;
}

export interface UpcasterRegistry {
  /** The schema version writers store for this event type: 1 until an upcaster exists for it. */
  currentSchemaVersion(streamType: string, type: string): number;
  /**
   * The event in its current shape, with `schemaVersion` set to the current version. An event
   * already current, of an unregistered type, or from a newer writer (a rolling deploy) is
   * returned as it is.
   */
  upcast<E extends VersionedEvent>(event: E): E;
}

const keyOf = (streamType: string, type: string) => `${streamType}\u0000${type}`;

/**
 * Builds a registry. Every registered event type needs one upcaster per version step, from 1 on,
 * with no gaps and no duplicates; anything else is a programming error and throws at once.
 */
export function createUpcasterRegistry(upcasters: readonly Upcaster[]): UpcasterRegistry {
  const chains = new Map<string, Upcaster[]>();
  for (const upcaster of upcasters) {
    const key = keyOf(upcaster.streamType, upcaster.type);
    chains.set(key, [...(chains.get(key) ?? []), upcaster]);
  }
  for (const chain of chains.values()) {
    chain.sort((a, b) => a.fromVersion - b.fromVersion);
    chain.forEach((upcaster, i) => {
      if (upcaster.fromVersion !== i + 1) {
        const { streamType, type } = upcaster;
        throw new Error(`Upcasters of ${streamType}/${type} must go 1→2→3… without gaps or duplicates; found ${chain.map((u) => u.fromVersion).join(', ')}`);
      }
    });
  }

  const currentSchemaVersion = (streamType: string, type: string) => (chains.get(keyOf(streamType, type))?.length ?? 0) + 1;

  return {
    currentSchemaVersion,
    upcast(event) {
      const chain = chains.get(keyOf(event.streamType, event.type));
      if (!chain || event.schemaVersion > chain.length) return event;
      if (!Number.isInteger(event.schemaVersion) || event.schemaVersion < 1) {
        throw new Error(`Event ${event.streamType}/${event.type} has an invalid schema version ${event.schemaVersion}`);
      }
      let data = event.data;
      for (const upcaster of chain.slice(event.schemaVersion - 1)) data = upcaster.upcast(data);
      return { ...event, schemaVersion: chain.length + 1, data };
    },
  };
}
