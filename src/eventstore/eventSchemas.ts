import { orderUpcasters } from '../domain/orderUpcasters';
import { createUpcasterRegistry } from './upcasters';

/**
 * The application's event schemas: every aggregate's upcasters in one registry. Readers
 * (`readStream`, `readAll`, `foldRecorded`) upcast with it by default, writers ask it which
 * version to store. Workflow-safe (pure), so the order workflow imports it directly.
 */
export const eventSchemas = createUpcasterRegistry([...orderUpcasters]);

/** The schema version to store for a newly decided event of this type. */
export function currentSchemaVersion(streamType: string, type: string): number {
  return eventSchemas.currentSchemaVersion(streamType, type);
}
