import fc from 'fast-check';
import { accountStreams } from '../../src/domain/account';
import { orderStreams } from '../../src/domain/order';
import { productStreams } from '../../src/domain/product';
import { stockStreams } from '../../src/domain/stock';

const aggregates = [orderStreams, accountStreams, productStreams, stockStreams];

test('every stream id names its aggregate back, and no other type claims it', () => {
  fc.assert(
    fc.property(fc.constantFrom(...aggregates), fc.string(), (names, id) => {
      const streamId = names.streamId(id);
      expect(names.idOf(streamId)).toBe(id);
      for (const other of aggregates.filter((o) => o !== names)) expect(other.idOf(streamId)).toBeUndefined();
    }),
  );
});
