export { appendToStream } from './appendToStream';
export { readStream, readAll, firstEvent, eventsOfTypes, readStreamsOfType, type ReadOptions } from './read';
export { WrongExpectedVersion } from './errors';
export type { Queryable } from './queryable';
export * from './types';
export { handleCommand, handleSnapshottedCommand, type DomainEvent, type HandledCommand, type SnapshotOptions } from './handleCommand';
export { EntryFold, type KeyedEntries } from './keyedEntries';
export { foldRecorded } from './foldStream';
export {
  handleStateStoredCommand,
  readAggregateState,
  type TransactionalDb,
  type TransactionClient,
} from './handleStateStoredCommand';
export {
  createUpcasterRegistry,
  defineUpcaster,
  type EventTypeKey,
  type Upcaster,
  type UpcasterRegistry,
  type VersionedEvent,
} from './upcasters';
export { currentSchemaVersion, eventSchemas } from './eventSchemas';
