import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Search attributes an operator filters orders by in the Web UI; registered by the dev stack and compose. */
export const CustomerIdAttribute = defineSearchAttributeKey('CustomerId', SearchAttributeType.KEYWORD);
export const OrderStatusAttribute = defineSearchAttributeKey('OrderStatus', SearchAttributeType.KEYWORD);
export const orderSearchAttributes = [CustomerIdAttribute, OrderStatusAttribute];
