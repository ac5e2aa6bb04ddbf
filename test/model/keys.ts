import fc from 'fast-check';

/*
 * Idempotency-Keys as an adversarial client would choose them: a few keys used over and over (on
 * every route, every order), strings shaped like every id the service forms or used to form for
 * itself, and random valid keys. A key naming an order is a template, filled in with one of the
 * run's order ids when the request is sent (ids exist only at run time).
 */

/** Short keys that every kind of command draws again and again: reuse across routes and orders. */
const REUSED_KEYS = ['k', 'retry-1', 'same-key'];

/**
 * What the order actor, the saga and the command ids use or used for themselves. Every checkout
 * attempt files a saga report (checkout-<attempt>); a cart expires only after its TTL, which no run
 * reaches: so the report's shapes are drawn most.
 */
const INTERNAL_LOOKALIKES = fc.oneof(
  { weight: 3, arbitrary: fc.constant('checkout-1') },
  { weight: 2, arbitrary: fc.constant('checkout-2') },
  { weight: 4, arbitrary: fc.constantFrom('expire-1', 'expire-3', 'internal:checkout:1', 'internal:expire:2', 'client:x') },
);

/**
 * Internal ids that name an order: `{order}` becomes an order id. Reservations and payments are
 * `<orderId>-<attempt>`, their steps `internal:<step>:<that>`, sagas `checkout-<orderId>-<attempt>`.
 */
const ORDER_TEMPLATES = [
  'debit:{order}-1',
  'reserve:{order}-1',
  'release:{order}-1',
  'commit:{order}-1',
  'refund:{order}-1',
  'internal:debit:{order}-1',
  'internal:reserve:{order}-2',
  'internal:refund:{order}-1',
  '{order}-1',
  'checkout-{order}-1',
];

const KEY_FIRST = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const KEY_REST = `${KEY_FIRST}_.:-`;

export type KeySpec =
  | { kind: 'none' }
  | { kind: 'fixed'; key: string }
  /** `pick` chooses the order whose id fills the template. */
  | { kind: 'order'; template: string; pick: number };

/** Any valid key: 1 to 128 of letters, digits, `_ . : -`, starting with a letter or digit. */
const randomKey = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/),
  fc.tuple(fc.constantFrom(...KEY_FIRST), fc.string({ unit: fc.constantFrom(...KEY_REST), maxLength: 127, size: 'max' })).map(([first, rest]) => first + rest),
);

const fixed = (keys: fc.Arbitrary<string>) => keys.map((key): KeySpec => ({ kind: 'fixed', key }));
const keyWithValue: fc.Arbitrary<KeySpec> = fc.oneof(
  { weight: 2, arbitrary: fixed(fc.constantFrom(...REUSED_KEYS)) },
  { weight: 4, arbitrary: fixed(INTERNAL_LOOKALIKES) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('order' as const), template: fc.constantFrom(...ORDER_TEMPLATES), pick: fc.nat() }) },
  { weight: 4, arbitrary: fixed(randomKey) },
);

/** A key for one request, or none (the API then makes one up). */
export const keySpec: fc.Arbitrary<KeySpec> = fc.oneof(
  { weight: 1, arbitrary: fc.constant<KeySpec>({ kind: 'none' }) },
  { weight: 4, arbitrary: keyWithValue },
);

/** A key that is certainly sent: for the same request fired several times at once. */
export const presentKeySpec = keyWithValue;

/** The key to send; an order template names one of `orderIds`, or a plausible id when there is none yet. */
export function resolveKey(spec: KeySpec, orderIds: readonly string[], firstOrderId: string): string | undefined {
  switch (spec.kind) {
    case 'none':
      return undefined;
    case 'fixed':
      return spec.key;
    case 'order':
      return spec.template.replace('{order}', orderIds[spec.pick % Math.max(orderIds.length, 1)] ?? firstOrderId);
  }
}

export function describeKey(spec: KeySpec): string {
  switch (spec.kind) {
    case 'none':
      return 'no key';
    case 'fixed':
      return `key ${JSON.stringify(spec.key)}`;
    case 'order':
      return `key ${JSON.stringify(spec.template)} of order#${spec.pick}`;
  }
}
