import fc from 'fast-check';
import { UsageError } from '../../src/operations/cli';
import { dateFlag } from '../../src/operations/orderCommands';

/*
 * `orders list --from/--to`: whatever Date.parse takes, the flag hands Postgres only an instant of a
 * year orders can have been created in, or is a usage error (exit 2), never a query Postgres refuses.
 */
test('a date flag is an ISO instant from 1970 to 9999, or a usage error', () => {
  const year = fc.oneof(
    fc.integer({ min: 0, max: 9999 }).map((y) => String(y).padStart(4, '0')),
    fc.integer({ min: -271_821, max: 275_760 }).map((y) => `${y < 0 ? '-' : '+'}${String(Math.abs(y)).padStart(6, '0')}`),
  );
  const text = fc.oneof(
    fc
      .tuple(year, fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 32 }))
      .map(([y, m, d]) => `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`),
    fc.string(),
  );
  fc.assert(
    fc.property(text, (value) => {
      let parsed: string | undefined;
      try {
        parsed = dateFlag(value, '--from');
      } catch (err) {
        expect(err).toBeInstanceOf(UsageError);
        return;
      }
      expect(parsed).toMatch(/^(19[7-9]\d|[2-9]\d{3})-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    }),
    { numRuns: 500, examples: [['0000-01-01'], ['+275760-09-13'], ['-000001-01-01'], ['1969-12-31T23:59:59Z']] },
  );
  expect(dateFlag('2026-11-30', '--from')).toBe('2026-11-30T00:00:00.000Z');
});
