import { orderUpcasters } from './orderUpcasters';
import { createUpcasterRegistry } from './upcasting';

/**
 * The domain's event schemas: every aggregate's upcasters in one registry. Readers of the event
 * store upcast with it (`src/application/eventStore.ts` hands it to them), writers ask it which
 * version to store. Workflow-safe (pure), so the order workflow imports it directly.
 */
export const eventSchemas = createUpcasterRegistry([...orderUpcasters]);

/** The schema version to store for a newly decided event of this type. */
export function currentSchemaVersion(streamType: string, type: string): number {
  return eventSchemas.currentSchemaVersion(streamType, type);
}
