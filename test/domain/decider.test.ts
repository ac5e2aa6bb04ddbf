import { DomainError, inSequence, type Decider } from '../../src/domain/decider';

type Command = { add: number };
/** A counter that refuses to go above 10. */
const counter: Decider<Command, number, { added: number }> = {
  initialState: 0,
  decide: ({ add }, total) => {
    if (total + add > 10) throw new DomainError('TOO_MUCH', `${total} + ${add} is over 10`);
    return [{ added: add }];
  },
  evolve: (total, { added }) => total + added,
};

describe('inSequence', () => {
  const both = inSequence(counter);

  test('given 3, when +4 then +2: each command is decided on the state the one before left', () => {
    expect(both.decide([{ add: 4 }, { add: 2 }], 3)).toEqual([{ added: 4 }, { added: 2 }]);
  });

  test('given 3, when +4 then +4: the second is refused on 7, and the batch decides nothing', () => {
    expect(() => both.decide([{ add: 4 }, { add: 4 }], 3)).toThrow('7 + 4 is over 10');
  });
});
