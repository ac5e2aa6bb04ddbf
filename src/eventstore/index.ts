export { appendToStream } from './appendToStream';
export { readStream, readAll } from './read';
export { WrongExpectedVersion } from './errors';
export type { Queryable } from './queryable';
export * from './types';
export { handleCommand, type DomainEvent, type HandledCommand } from './handleCommand';
export { foldRecorded } from './foldStream';
export {
  handleStateStoredCommand,
  readAggregateState,
  type TransactionalDb,
  type TransactionClient,
} from './handleStateStoredCommand';
