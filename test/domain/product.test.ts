import { fold } from '../../src/domain/decider';
import { MAX_PRICE_CENTS, initialProductState, productDecider, productStreamId, type ProductCommand, type ProductEvent } from '../../src/domain/product';
import { deciderSpec } from './spec';

const spec = deciderSpec(productDecider);

const PRODUCT_ID = 'widget';

const create = (overrides: Partial<Extract<ProductCommand, { type: 'CreateProduct' }>> = {}): ProductCommand => ({
  type: 'CreateProduct',
  productId: PRODUCT_ID,
  name: 'Widget',
  description: 'A very useful widget',
  priceCents: 1250,
  ...overrides,
});

const productCreated = (overrides: { description?: string; priceCents?: number } = {}): ProductEvent => ({
  type: 'ProductCreated',
  data: { productId: PRODUCT_ID, name: 'Widget', description: 'A very useful widget', priceCents: 1250, ...overrides },
});

const created = productCreated();

const renamed = (oldName: string, newName: string): ProductEvent => ({ type: 'ProductRenamed', data: { oldName, newName } });

const repriced = (oldPriceCents: number, newPriceCents: number): ProductEvent => ({
  type: 'ProductRepriced',
  data: { oldPriceCents, newPriceCents },
});

const invalidPrices: Array<[string, number]> = [
  ['negative', -1],
  ['fractional', 12.5],
  ['above MAX_PRICE_CENTS', MAX_PRICE_CENTS + 1],
  ['NaN', Number.NaN],
  ['infinite', Number.POSITIVE_INFINITY],
];

describe('product decider', () => {
  describe('CreateProduct', () => {
    test('emits ProductCreated with id, name, description and price', () => {
      const state = spec.given([]).when(create()).then([created]);
      expect(state).toEqual({ exists: true, productId: PRODUCT_ID, name: 'Widget', description: 'A very useful widget', priceCents: 1250 });
    });

    test.each([0, MAX_PRICE_CENTS])('the boundary price %p is accepted', (priceCents) => {
      spec
        .given([])
        .when(create({ priceCents }))
        .then([productCreated({ priceCents })]);
    });

    test('an empty description is accepted', () => {
      spec
        .given([])
        .when(create({ description: '' }))
        .then([productCreated({ description: '' })]);
    });

    test('on an existing product is refused with PRODUCT_ALREADY_EXISTS (conflict)', () => {
      spec.given([created]).when(create()).thenThrows('PRODUCT_ALREADY_EXISTS', 'conflict');
    });

    test.each(['', '   ', '\t'])('a blank name (%j) is refused with INVALID_NAME (rule)', (name) => {
      spec.given([]).when(create({ name })).thenThrows('INVALID_NAME', 'rule');
    });

    test.each(invalidPrices)('a %s price is refused with INVALID_PRICE (rule)', (_label, priceCents) => {
      spec.given([]).when(create({ priceCents })).thenThrows('INVALID_PRICE', 'rule');
    });
  });

  describe('RenameProduct', () => {
    test('emits ProductRenamed with the old and the new name', () => {
      const state = spec
        .given([created])
        .when({ type: 'RenameProduct', name: 'Widget Pro' })
        .then([renamed('Widget', 'Widget Pro')]);
      expect(state.name).toBe('Widget Pro');
    });

    test('the old name is the latest name', () => {
      spec
        .given([created, renamed('Widget', 'Widget Pro')])
        .when({ type: 'RenameProduct', name: 'Widget Max' })
        .then([renamed('Widget Pro', 'Widget Max')]);
    });

    test('renaming to the current name emits no events', () => {
      spec.given([created]).when({ type: 'RenameProduct', name: 'Widget' }).then([]);
    });

    test.each(['', '  '])('a blank name (%j) is refused with INVALID_NAME (rule)', (name) => {
      spec.given([created]).when({ type: 'RenameProduct', name }).thenThrows('INVALID_NAME', 'rule');
    });

    test('a product that does not exist is refused with PRODUCT_NOT_FOUND (not_found)', () => {
      spec.given([]).when({ type: 'RenameProduct', name: 'Widget' }).thenThrows('PRODUCT_NOT_FOUND', 'not_found');
    });
  });

  describe('RepriceProduct', () => {
    test('emits ProductRepriced with the old and the new price', () => {
      const state = spec
        .given([created])
        .when({ type: 'RepriceProduct', priceCents: 999 })
        .then([repriced(1250, 999)]);
      expect(state.priceCents).toBe(999);
    });

    test('the old price is the latest price', () => {
      spec
        .given([created, repriced(1250, 999)])
        .when({ type: 'RepriceProduct', priceCents: 1500 })
        .then([repriced(999, 1500)]);
    });

    test.each([0, MAX_PRICE_CENTS])('the boundary price %p is accepted', (priceCents) => {
      spec
        .given([created])
        .when({ type: 'RepriceProduct', priceCents })
        .then([repriced(1250, priceCents)]);
    });

    test('repricing to the current price emits no events', () => {
      spec.given([created]).when({ type: 'RepriceProduct', priceCents: 1250 }).then([]);
    });

    test.each(invalidPrices)('a %s price is refused with INVALID_PRICE (rule)', (_label, priceCents) => {
      spec.given([created]).when({ type: 'RepriceProduct', priceCents }).thenThrows('INVALID_PRICE', 'rule');
    });

    test('a product that does not exist is refused with PRODUCT_NOT_FOUND (not_found)', () => {
      spec.given([]).when({ type: 'RepriceProduct', priceCents: 100 }).thenThrows('PRODUCT_NOT_FOUND', 'not_found');
    });
  });
});

describe('product evolve', () => {
  test('the initial state is a product that does not exist', () => {
    expect(productDecider.initialState).toEqual(initialProductState);
    expect(initialProductState.exists).toBe(false);
  });

  test('rename and reprice change only their own field', () => {
    const state = fold(productDecider, [created, renamed('Widget', 'Widget Pro'), repriced(1250, 2000)]);
    expect(state).toEqual({ exists: true, productId: PRODUCT_ID, name: 'Widget Pro', description: 'A very useful widget', priceCents: 2000 });
  });

  test('the product stream id is prefixed with "product-"', () => {
    expect(productStreamId(PRODUCT_ID)).toBe('product-widget');
  });
});
