import { clientCommandId, internalCommandId } from '../domain/commandIds';
import type { CommandAccepted, CommandOutcome, CommandRejected } from './orderContract';

/** An accepted command: its answer, and what it asked for (empty when carried from before fingerprints). */
export interface LedgerEntry {
  outcome: CommandAccepted;
  fingerprint: string;
}

/** What the ledger carries across continue-as-new. */
export interface CarriedLedger {
  accepted: Array<[string, LedgerEntry]>;
  rejected: Array<[string, CommandRejected]>;
  /** Whether an accepted command was ever dropped: then an unknown key must be looked up in the stream. */
  forgot: boolean;
}

/**
 * The answers to recent commands, by namespaced command id (src/domain/commandIds.ts), carried
 * across continue-as-new (Temporal's own update-id dedup is not).
 *
 * Only an accepted command binds its key: a repeat gets the first answer instead of acting twice.
 * A rejection binds nothing (a corrected retry with the same key is decided afresh); it is kept,
 * in a smaller ring of its own, only so the status of a command sent as a signal can be told. So
 * rejections cannot push accepted keys out. Both are bounded; once an accepted key has been
 * dropped the ledger says so (`forgot`), and the actor asks the order's stream, which records
 * every accepted command's id for good.
 */
export class CommandLedger {
  private readonly accepted: Map<string, LedgerEntry>;
  private readonly rejected: Map<string, CommandRejected>;
  private dropped: boolean;

  constructor(
    carried: CarriedLedger | undefined,
    private readonly capacity = 1000,
    private readonly rejectedCapacity = 200,
  ) {
    this.accepted = new Map(carried?.accepted);
    this.rejected = new Map(carried?.rejected);
    this.dropped = carried?.forgot ?? false;
  }

  /** The accepted command with this id, if the ledger still holds it. */
  acceptedAs(commandId: string): LedgerEntry | undefined {
    return this.accepted.get(commandId);
  }

  /** The latest answer to this id: its accepted answer, else its latest rejection. */
  outcomeOf(commandId: string): CommandOutcome | undefined {
    return this.accepted.get(commandId)?.outcome ?? this.rejected.get(commandId);
  }

  get forgot(): boolean {
    return this.dropped;
  }

  recordAccepted(commandId: string, outcome: CommandAccepted, fingerprint: string): void {
    this.rejected.delete(commandId);
    this.dropped = evictOldest(this.accepted.set(commandId, { outcome, fingerprint }), this.capacity) || this.dropped;
  }

  recordRejected(commandId: string, outcome: CommandRejected): void {
    this.rejected.delete(commandId); // the latest rejection is the newest entry
    evictOldest(this.rejected.set(commandId, outcome), this.rejectedCapacity);
  }

  carry(): CarriedLedger {
    return { accepted: [...this.accepted], rejected: [...this.rejected], forgot: this.dropped };
  }
}

/**
 * A ledger carried by a run that continued before the namespaces: its ids are raw. The saga's
 * reports (`checkout-<n>`, told apart by their outcome events) become internal ids, everything
 * else was a client's. Fingerprints were not kept then: such a key repeats with any payload, as
 * it did. A full legacy ledger may have dropped keys.
 */
export function ledgerFromLegacy(entries: Array<[string, CommandOutcome]>, capacity = 1000): CarriedLedger {
  const ledger: CarriedLedger = { accepted: [], rejected: [], forgot: entries.length >= capacity };
  for (const [id, outcome] of entries) {
    const report = /^checkout-(\d+)$/.exec(id);
    if (outcome.status === 'rejected') ledger.rejected.push([clientCommandId(id), outcome]);
    else if (report && outcome.events.some((e) => e === 'CheckoutSucceeded' || e === 'CheckoutFailed')) {
      ledger.accepted.push([internalCommandId('checkout', report[1]!), { outcome, fingerprint: '' }]);
    } else ledger.accepted.push([clientCommandId(id), { outcome, fingerprint: '' }]);
  }
  return ledger;
}

/** Drops the oldest entries past `capacity`; whether any was dropped. */
function evictOldest(entries: Map<string, unknown>, capacity: number): boolean {
  let evicted = false;
  while (entries.size > capacity) {
    entries.delete(entries.keys().next().value as string);
    evicted = true;
  }
  return evicted;
}
