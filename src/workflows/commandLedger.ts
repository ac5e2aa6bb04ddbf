import type { CommandOutcome } from './orderContract';

/**
 * The answers to the most recent commands, by command id, so a repeated command gets its first
 * answer instead of acting twice. Bounded, oldest first out, and carried across continue-as-new
 * (Temporal's own update-id dedup is not).
 */
export class CommandLedger {
  private readonly outcomes: Map<string, CommandOutcome>;

  constructor(
    entries: Iterable<[string, CommandOutcome]> = [],
    private readonly capacity = 1000,
  ) {
    this.outcomes = new Map(entries);
  }

  get(commandId: string): CommandOutcome | undefined {
    return this.outcomes.get(commandId);
  }

  record(outcome: CommandOutcome): void {
    this.outcomes.set(outcome.commandId, outcome);
    while (this.outcomes.size > this.capacity) {
      const oldest = this.outcomes.keys().next().value as string;
      this.outcomes.delete(oldest);
    }
  }

  entries(): Array<[string, CommandOutcome]> {
    return [...this.outcomes];
  }
}
