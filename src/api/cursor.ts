import type { OrderListPosition } from '../projections/orderSummary';
import { idSchema } from '../workflows/orderContract';
import { ApiError } from './problem';

/*
 * The `cursor` of a customer's order list: where the previous page ended, opaque to the client
 * (base64url of `[createdAt, orderId]`).
 */

export function encodeCursor(position: OrderListPosition): string {
  return Buffer.from(JSON.stringify([position.createdAt, position.orderId])).toString('base64url');
}

/** The position a cursor names, or 400 INVALID_CURSOR for anything `encodeCursor` did not write. */
export function decodeCursor(cursor: string): OrderListPosition {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    // Only what we hand out: an ISO instant as Date writes it (Date.parse accepts more than
    // Postgres does), of a year orders can have been created in (Postgres has no year 0, and
    // Date writes years past 9999 with six digits), and a valid order id.
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && idSchema.safeParse(value[1]).success) {
      const at = new Date(value[0]);
      if (!Number.isNaN(at.getTime()) && at.toISOString() === value[0] && /^(19[7-9]\d|[2-9]\d{3})-/.test(value[0])) {
        return { createdAt: value[0], orderId: value[1] as string };
      }
    }
  } catch {
    // falls through to the 400
  }
  throw new ApiError(400, 'INVALID_CURSOR', 'The cursor is not one this API handed out.');
}
