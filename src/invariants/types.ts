import { isDeepStrictEqual } from 'node:util';

/*
 * Invariant checks over the event store, the state-stored aggregates, the read models and the
 * order actors. Every check only reads. Each returns one InvariantResult: PASS/FAIL, how much it
 * looked at, the violations (capped), and notes that are not violations (in-flight checkouts,
 * lagging read models, orders Temporal no longer holds).
 */

export type InvariantStatus = 'PASS' | 'FAIL' | 'SKIP';

export interface InvariantResult {
  id: string;
  title: string;
  status: InvariantStatus;
  /** How many things (streams, customers, orders, rows) were checked. */
  checked: number;
  /** Total number of violations found (the list below may be capped). */
  violationCount: number;
  violations: string[];
  /** Counters that are not violations, e.g. `{ inFlight: 2, lagging: 1 }`. */
  counts: Record<string, number>;
  /** Explanations: why skipped, what is in flight. Capped like violations. */
  notes: string[];
}

/**
 * Restricts the checks to some streams / customers (the shared test database holds other tests'
 * data). Absent: check everything. `streamIds` are full stream ids (`order-…`, `stock-…`,
 * `account-…`, `product-…`); when given, invariants 1, 3, 4 and 5 look at those streams only.
 * Invariant 2 reconciles customers: `customerIds`, plus the owners of the `account-…` and
 * `order-…` streams in `streamIds`, each with all of their orders. With `customerIds` alone, the
 * stream-based invariants still check everything.
 */
export interface InvariantFilter {
  streamIds?: readonly string[];
  customerIds?: readonly string[];
}

export const MAX_LISTED = 50;

/** Collects a result; lists are capped at MAX_LISTED, counts are exact. */
export class ResultBuilder {
  private checkedCount = 0;
  private violationTotal = 0;
  private readonly violationList: string[] = [];
  private readonly noteList: string[] = [];
  private readonly countMap: Record<string, number> = {};

  constructor(
    private readonly id: string,
    private readonly title: string,
  ) {}

  checked(n = 1): void {
    this.checkedCount += n;
  }

  violation(message: string): void {
    this.violationTotal += 1;
    if (this.violationList.length < MAX_LISTED) this.violationList.push(message);
  }

  note(message: string): void {
    if (this.noteList.length < MAX_LISTED) this.noteList.push(message);
  }

  count(name: string, n = 1): void {
    this.countMap[name] = (this.countMap[name] ?? 0) + n;
  }

  build(): InvariantResult {
    return {
      id: this.id,
      title: this.title,
      status: this.violationTotal > 0 ? 'FAIL' : 'PASS',
      checked: this.checkedCount,
      violationCount: this.violationTotal,
      violations: [...this.violationList],
      counts: { ...this.countMap },
      notes: [...this.noteList],
    };
  }
}

export function skipped(id: string, title: string, reason: string): InvariantResult {
  return { id, title, status: 'SKIP', checked: 0, violationCount: 0, violations: [], counts: {}, notes: [reason] };
}

/** Compares as stored JSON compares: undefined members vanish, key order does not matter. */
export function sameJson(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(asJson(a), asJson(b));
}

export function asJson(value: unknown): unknown {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}
