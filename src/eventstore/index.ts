export { appendToStream } from './appendToStream';
export { readStream, readAll, firstEvent, eventsOfTypes, eventsCorrelatedWith, foldStream, type ReadOptions, type StreamFold } from './read';
export { eventsOfCommands, streamVersion, type CommandEvent } from './commandEvents';
export { WrongExpectedVersion } from './errors';
export { EVENTS_APPENDED_CHANNEL } from './appended';
export type { Queryable } from './queryable';
export * from './types';
export { inTransaction, type TransactionalDb, type TransactionClient, type TransactionOutcome } from './transaction';
export {
  countStreams,
  findDuplicateEventIds,
  findStreamVersionMismatches,
  readEventsOfType,
  readStreamsOfType,
  streamIdsByLastChange,
  timeSinceLastEvent,
  type AuditedEvent,
  type DuplicateEventId,
  type StreamAtVersion,
  type StreamVersionMismatch,
} from './audit';
