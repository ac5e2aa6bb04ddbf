import { createUpcasterRegistry, defineUpcaster, type VersionedEvent } from '../../src/domain/upcasting';

/* The registry on its own: pure, no database. */

type V1 = { name: string };
type V2 = { firstName: string; lastName: string };
type V3 = { firstName: string; lastName: string; initials: string };

const renamedToParts = defineUpcaster<V1, V2>({
  streamType: 'person',
  type: 'PersonNamed',
  fromVersion: 1,
  upcast: ({ name }) => {
    const [firstName = '', ...rest] = name.split(' ');
    return { firstName, lastName: rest.join(' ') };
  },
});
const withInitials = defineUpcaster<V2, V3>({
  streamType: 'person',
  type: 'PersonNamed',
  fromVersion: 2,
  upcast: (data) => ({ ...data, initials: `${data.firstName[0] ?? ''}${data.lastName[0] ?? ''}` }),
});

const event = (schemaVersion: number, data: unknown, streamType = 'person', type = 'PersonNamed'): VersionedEvent & { eventId: string } => ({
  eventId: 'e-1',
  streamType,
  type,
  schemaVersion,
  data,
});

// Registered out of order on purpose: the registry orders each chain by version.
const registry = createUpcasterRegistry([withInitials, renamedToParts]);

test('the current version of a type is one more than its number of upcasters; unregistered types are at 1', () => {
  expect(registry.currentSchemaVersion('person', 'PersonNamed')).toBe(3);
  expect(registry.currentSchemaVersion('person', 'PersonMoved')).toBe(1);
  // Scoped by stream type: the same event name in another stream is another event.
  expect(registry.currentSchemaVersion('robot', 'PersonNamed')).toBe(1);
});

test('a stored v1 event runs the whole chain, every step in order, and keeps its envelope', () => {
  expect(registry.upcast(event(1, { name: 'Ada King Lovelace' }))).toEqual({
    eventId: 'e-1',
    streamType: 'person',
    type: 'PersonNamed',
    schemaVersion: 3,
    data: { firstName: 'Ada', lastName: 'King Lovelace', initials: 'AK' },
  });
});

test('a v2 event runs only the steps after its version', () => {
  expect(registry.upcast(event(2, { firstName: 'Grace', lastName: 'Hopper' }))).toMatchObject({
    schemaVersion: 3,
    data: { firstName: 'Grace', lastName: 'Hopper', initials: 'GH' },
  });
});

test('current events, unregistered types and other stream types are returned as they are', () => {
  const current = event(3, { firstName: 'A', lastName: 'B', initials: 'AB' });
  expect(registry.upcast(current)).toBe(current);
  const unregistered = event(1, { anything: true }, 'person', 'PersonMoved');
  expect(registry.upcast(unregistered)).toBe(unregistered);
  const elsewhere = event(1, { name: 'R2 D2' }, 'robot');
  expect(registry.upcast(elsewhere)).toBe(elsewhere);
});

test('a version newer than this code knows (from a newer writer during a rolling deploy) is passed through', () => {
  const newer = event(4, { firstName: 'A', lastName: 'B', initials: 'AB', nickname: 'ab' });
  expect(registry.upcast(newer)).toBe(newer);
});

test('upcasting does not touch the stored event object', () => {
  const stored = event(1, { name: 'Ada Lovelace' });
  const copy = structuredClone(stored);
  registry.upcast(stored);
  expect(stored).toEqual(copy);
});

test('an invalid stored version is an error, not silently treated as current', () => {
  expect(() => registry.upcast(event(0, { name: 'x' }))).toThrow('invalid schema version 0');
});

test('a chain with a gap or a duplicate step is refused when the registry is built', () => {
  expect(() => createUpcasterRegistry([withInitials])).toThrow('person/PersonNamed must go 1→2→3');
  expect(() => createUpcasterRegistry([renamedToParts, renamedToParts])).toThrow('found 1, 1');
});
