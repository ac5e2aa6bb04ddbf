import { inSequence } from '../domain/decider';
import { PRODUCT_STREAM_TYPE, productDecider, productStreamId, type ProductCommand } from '../domain/product';
import type { EventMetadata, TransactionalDb } from '../eventstore';
import { serverIdsAndClock } from './commandMetadata';
import { handleCommand } from './handleCommand';
import { countedCommand } from '../metrics';

const productCommands = inSequence(productDecider);

/**
 * Runs product commands (a rename and a new price from one PATCH, say) on the product's
 * event-sourced stream as one: all their events or none. A command id already stored is not run again.
 */
export function executeProductCommands(db: TransactionalDb, productId: string, commands: readonly ProductCommand[], metadata: EventMetadata) {
  // One PATCH may rename and reprice at once: labelled by its command types together (a few fixed combinations).
  return countedCommand(commands.map((c) => c.type).join('+'), () =>
    handleCommand(db, productCommands, { id: productStreamId(productId), type: PRODUCT_STREAM_TYPE }, commands, {
      metadata,
      ...serverIdsAndClock,
      skipIfCommandStored: true,
    }),
  );
}
