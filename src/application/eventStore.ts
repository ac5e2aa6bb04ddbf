import { eventSchemas } from '../domain/eventSchemas';
import * as store from '../eventstore';

/*
 * The generic event store's readers bound to the domain's event schemas: what the application,
 * the read side and the tools read events through, so every event they see has its current shape.
 */

export const readStream = (db: store.Queryable, streamId: string, range: { fromVersion?: number; toVersion?: number } = {}) =>
  store.readStream(db, streamId, { ...range, schemas: eventSchemas });

export const readAll = (db: store.Queryable, options: { after: store.Checkpoint; limit: number }) =>
  store.readAll(db, { ...options, schemas: eventSchemas });
