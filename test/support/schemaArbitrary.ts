import fc from 'fast-check';

/*
 * fast-check arbitraries drawn from the contract's JSON Schemas (the subset zod writes: type, enum,
 * properties, required, additionalProperties, items, min/max, minLength/maxLength, pattern), so a
 * fuzz follows the spec instead of a second hand-written description of each route.
 */

type Schema = Record<string, any>;

const INT32 = 2 ** 31 - 1;

/** A value the schema accepts. */
export function valueOf(schema: Schema): fc.Arbitrary<unknown> {
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  if ('const' in schema) return fc.constant(schema.const);
  const alternatives = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  if (alternatives) return fc.oneof(...alternatives.map(valueOf));
  switch (schema.type) {
    case 'string':
      return stringOf(schema);
    case 'integer':
    case 'number': {
      const min = typeof schema.minimum === 'number' ? schema.minimum : -1e6;
      const max = typeof schema.maximum === 'number' ? schema.maximum : 1e6;
      // fast-check's integers are 32-bit: the edges come as constants, the middle from the range that fits.
      const inner = fc.integer({ min: Math.max(Math.ceil(min), -INT32), max: Math.min(Math.floor(max), INT32) });
      return fc.oneof({ arbitrary: inner, weight: 4 }, { arbitrary: fc.constantFrom(Math.ceil(min), Math.floor(max)), weight: 1 });
    }
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return fc.array(valueOf((schema.items as Schema | undefined) ?? {}), { minLength: schema.minItems ?? 0, maxLength: Math.min(schema.maxItems ?? 3, 3) });
    case 'object':
      return objectOf(schema);
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

function stringOf(schema: Schema): fc.Arbitrary<string> {
  const minLength = (schema.minLength as number | undefined) ?? 0;
  const maxLength = Math.max(minLength, Math.min((schema.maxLength as number | undefined) ?? 40, 60));
  const fits = (s: string) => s.length >= minLength && s.length <= ((schema.maxLength as number | undefined) ?? Infinity);
  const drawn = typeof schema.pattern === 'string' ? fc.stringMatching(new RegExp(schema.pattern)).filter(fits) : fc.string({ minLength, maxLength });
  const examples = ((schema.examples as unknown[] | undefined) ?? []).filter((e): e is string => typeof e === 'string');
  return examples.length > 0 ? fc.oneof(drawn, fc.constantFrom(...examples)) : drawn;
}

function objectOf(schema: Schema): fc.Arbitrary<Record<string, unknown>> {
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  const required = (schema.required ?? []) as string[];
  return fc.record(Object.fromEntries(Object.entries(properties).map(([name, property]) => [name, valueOf(property)])), { requiredKeys: required });
}

/** A value of a type the schema does not take. */
const wrongTypeFor = (schema: Schema): fc.Arbitrary<unknown> => {
  const all: Array<[string, unknown]> = [
    ['string', 'not-a-number'],
    ['integer', 1.5],
    ['number', 'NaN'],
    ['boolean', 'yes'],
    ['object', [1, 2]],
    ['array', { not: 'an array' }],
    ['null', 0],
  ];
  const wrong = all.filter(([type, value]) => type !== schema.type && !(schema.type === 'number' && typeof value === 'number')).map(([, value]) => value);
  return fc.constantFrom(...(schema.type === 'integer' ? [1.5, 'one', null] : wrong));
};

/**
 * A value the schema refuses, or undefined when there is none to draw: the wrong type, a string
 * past its limits, a number past its bounds; for an object, one of its own values broken, a
 * required key missing, or a key it does not allow. `asText`: the value goes in a path or query,
 * where every value is text, so only breaks that survive being written as text count.
 */
export function brokenValueOf(schema: Schema, asText = false): fc.Arbitrary<unknown> | undefined {
  const ways: Array<fc.Arbitrary<unknown>> = [];
  const numeric = schema.type === 'integer' || schema.type === 'number';
  if (!asText && (schema.type !== undefined || Array.isArray(schema.enum))) ways.push(wrongTypeFor(schema));
  if (asText && numeric) ways.push(fc.constantFrom('abc', '1e400', ...(schema.type === 'integer' ? ['1.5'] : [])));
  if (Array.isArray(schema.enum)) ways.push(fc.constant('not-one-of-them'));
  if (schema.type === 'string' && typeof schema.maxLength === 'number') ways.push(fc.constant('x'.repeat(schema.maxLength + 1)));
  if (schema.type === 'string' && typeof schema.pattern === 'string') ways.push(fc.constantFrom('has space', '!', '-lead'));
  if (numeric && typeof schema.maximum === 'number') ways.push(fc.constant(schema.maximum + 1));
  if (numeric && typeof schema.minimum === 'number') ways.push(fc.constant(schema.minimum - 1));
  const alternatives = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  // A union of objects (one body per kind of action, say) takes no value that is not an object.
  if (!asText && alternatives?.every((a) => a.type === 'object')) ways.push(fc.constantFrom([1, 2], 'text', 42, null));
  if (schema.type === 'object' && !asText) {
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    const valid = objectOf(schema);
    for (const name of (schema.required ?? []) as string[]) {
      ways.push(valid.map(({ [name]: _dropped, ...rest }) => rest));
    }
    for (const [name, property] of Object.entries(properties)) {
      const broken = brokenValueOf(property);
      if (broken) ways.push(fc.tuple(valid, broken).map(([value, bad]) => ({ ...value, [name]: bad })));
    }
    if (schema.additionalProperties === false) ways.push(valid.map((value) => ({ ...value, notInTheSchema: 1 })));
  }
  return ways.length > 0 ? fc.oneof(...ways) : undefined;
}
