import { STOCK_STREAM_TYPE, stockDecider, stockStreamId, type StockCommand } from '../domain/stock';
import { type EventMetadata, type TransactionalDb } from '../eventstore';
import { serverIdsAndClock } from './commandMetadata';
import { stockReservationRows } from './stockReservationRows';
import { handleStateStoredCommand } from './handleStateStoredCommand';
import { countedCommand } from '../metrics';

/**
 * Runs one stock command on the product's state-stored stock aggregate (row lock, no retries). The
 * answer's state holds only the reservation the command names.
 */
export function executeStockCommand(
  db: TransactionalDb,
  productId: string,
  command: StockCommand,
  metadata: EventMetadata,
  options: { skipIfCommandStored?: boolean } = {},
) {
  return countedCommand(command.type, () =>
    handleStateStoredCommand(db, stockDecider, { id: stockStreamId(productId), type: STOCK_STREAM_TYPE }, command, {
      metadata,
      ...serverIdsAndClock,
      entries: stockReservationRows,
      ...options,
    }),
  );
}
