import { defineUpcaster } from './upcasting';
import { ORDER_STREAM_TYPE, type OrderEvent } from './order';

/*
 * Older shapes of the order's events, and how each becomes the next. Pure: a stored event is never
 * rewritten, readers upcast it (eventSchemas.ts registers these). To change an
 * event's shape: add the new version here as the next step, change the event's type in order.ts
 * and let the decider emit it; writers then store the new version by themselves.
 */

type OrderItemAddedV2 = Extract<OrderEvent, { type: 'OrderItemAdded' }>['data'];
/** OrderItemAdded before it carried its line total. */
export type OrderItemAddedV1 = Omit<OrderItemAddedV2, 'lineTotalCents'>;

export const orderUpcasters = [
  // v2 added lineTotalCents: the price × quantity of this event (not of the merged cart line).
  defineUpcaster<OrderItemAddedV1, OrderItemAddedV2>({
    streamType: ORDER_STREAM_TYPE,
    type: 'OrderItemAdded',
    fromVersion: 1,
    upcast: (data) => ({ ...data, lineTotalCents: data.unitPriceCents * data.quantity }),
  }),
];
