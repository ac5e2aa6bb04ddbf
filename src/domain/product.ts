import { DomainError, type Decider } from './decider';
import { streamNames } from './streamNames';

/* A catalog entry. Prices are integer minor units; the catalog, never a client, sets them. */

export interface ProductState {
  exists: boolean;
  productId: string | null;
  name: string;
  description: string;
  priceCents: number;
}

export type ProductCommand =
  | { type: 'CreateProduct'; productId: string; name: string; description: string; priceCents: number }
  | { type: 'RenameProduct'; name: string }
  | { type: 'RepriceProduct'; priceCents: number };

export type ProductEvent =
  | { type: 'ProductCreated'; data: { productId: string; name: string; description: string; priceCents: number } }
  | { type: 'ProductRenamed'; data: { oldName: string; newName: string } }
  | { type: 'ProductRepriced'; data: { oldPriceCents: number; newPriceCents: number } };

export const MAX_PRICE_CENTS = 100_000_000; // one million in major units: far above any cart line

export const initialProductState: ProductState = { exists: false, productId: null, name: '', description: '', priceCents: 0 };

function requirePrice(priceCents: number): void {
  if (!Number.isInteger(priceCents) || priceCents < 0 || priceCents > MAX_PRICE_CENTS) {
    throw new DomainError('INVALID_PRICE', `A price is a whole number of cents from 0 to ${MAX_PRICE_CENTS}.`);
  }
}

function requireName(name: string): void {
  if (name.trim() === '') throw new DomainError('INVALID_NAME', 'A product needs a name.');
}

function requireExisting(state: ProductState): void {
  if (!state.exists) throw new DomainError('PRODUCT_NOT_FOUND', 'This product does not exist.', 'not_found');
}

export function decideProduct(command: ProductCommand, state: ProductState): ProductEvent[] {
  switch (command.type) {
    case 'CreateProduct':
      if (state.exists) throw new DomainError('PRODUCT_ALREADY_EXISTS', 'This product already exists.', 'conflict');
      requireName(command.name);
      requirePrice(command.priceCents);
      return [
        {
          type: 'ProductCreated',
          data: { productId: command.productId, name: command.name, description: command.description, priceCents: command.priceCents },
        },
      ];
    case 'RenameProduct':
      requireExisting(state);
      requireName(command.name);
      return command.name === state.name ? [] : [{ type: 'ProductRenamed', data: { oldName: state.name, newName: command.name } }];
    case 'RepriceProduct':
      requireExisting(state);
      requirePrice(command.priceCents);
      return command.priceCents === state.priceCents
        ? []
        : [{ type: 'ProductRepriced', data: { oldPriceCents: state.priceCents, newPriceCents: command.priceCents } }];
  }
}

export function evolveProduct(state: ProductState, event: ProductEvent): ProductState {
  switch (event.type) {
    case 'ProductCreated':
      return { exists: true, ...event.data };
    case 'ProductRenamed':
      return { ...state, name: event.data.newName };
    case 'ProductRepriced':
      return { ...state, priceCents: event.data.newPriceCents };
  }
}

export const productDecider: Decider<ProductCommand, ProductState, ProductEvent> = {
  initialState: initialProductState,
  decide: decideProduct,
  evolve: evolveProduct,
};

/** `product-<productId>`. */
export const productStreams = streamNames('product');
export const PRODUCT_STREAM_TYPE = productStreams.streamType;
export const productStreamId = productStreams.streamId;
