import type { Client } from '@temporalio/client';
import type { Queryable } from '../eventstore';
import { checkCheckouts, type CheckoutCheckOptions } from './checkouts';
import { checkStreamIntegrity } from './integrity';
import { checkMoney } from './money';
import { checkReadModels } from './readModels';
import { checkStock } from './stock';
import type { InvariantFilter, InvariantResult } from './types';
import { checkOrderWorkflows, type WorkflowCheckOptions } from './workflows';

export * from './types';
export { checkStock, STOCK_INVARIANT } from './stock';
export { checkMoney, MONEY_INVARIANT } from './money';
export { checkStreamIntegrity, INTEGRITY_INVARIANT } from './integrity';
export { checkOrderWorkflows, WORKFLOW_INVARIANT, type WorkflowCheckOptions } from './workflows';
export { checkReadModels, READ_MODEL_INVARIANT } from './readModels';
export {
  checkCheckouts,
  checkoutDeadlineMs,
  CHECKOUT_FORWARD_STEP_MS,
  CHECKOUT_INVARIANT,
  CHECKOUT_UNDO_STEP_MS,
  type CheckoutCheckOptions,
} from './checkouts';

export interface InvariantDeps {
  /** Where 1, 2, 3 and 5 read: ideally one REPEATABLE READ, READ ONLY transaction (one snapshot). */
  db: Queryable;
  /** Where 4 and 6 read order streams: fresh reads, since the actors keep moving (default: db). */
  freshDb?: Queryable;
  /** Without it invariants 4 and 6 are skipped. */
  client?: Client;
  filter?: InvariantFilter;
  workflows?: WorkflowCheckOptions;
  checkouts?: CheckoutCheckOptions;
  /**
   * Called after 1, 2, 3 and 5 and before 4 and 6 (which are slow: Temporal round trips per order):
   * the CLI commits its snapshot transaction here, so it holds no locks while Temporal answers.
   */
  afterSnapshotChecks?: () => Promise<void>;
}

/** All six invariants, in order. Reads only. */
export async function runInvariants(deps: InvariantDeps): Promise<InvariantResult[]> {
  const filter = deps.filter ?? {};
  const stock = await checkStock(deps.db, filter);
  const money = await checkMoney(deps.db, filter);
  const integrity = await checkStreamIntegrity(deps.db, filter);
  const readModels = await checkReadModels(deps.db, filter);
  await deps.afterSnapshotChecks?.();
  const workflows = await checkOrderWorkflows(deps.freshDb ?? deps.db, deps.client, filter, deps.workflows);
  const checkouts = await checkCheckouts(deps.freshDb ?? deps.db, deps.client, filter, deps.checkouts);
  return [stock, money, integrity, workflows, readModels, checkouts];
}

export const anyFailed = (results: readonly InvariantResult[]): boolean => results.some((r) => r.status === 'FAIL');

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

/** A compact table, then the violations (and up to `notesPerInvariant` notes) of each invariant. */
export function formatReport(results: readonly InvariantResult[], options: { notesPerInvariant?: number } = {}): string {
  const header = ['#', 'invariant', 'result', 'checked', 'violations', 'counts'];
  const rows = results.map((r) => [
    r.id,
    r.title,
    r.status,
    String(r.checked),
    String(r.violationCount),
    Object.entries(r.counts)
      .map(([k, v]) => `${k}=${v}`)
      .join(' '),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => pad(c, widths[i]!))
      .join('  ')
      .trimEnd();
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
  const noteLimit = options.notesPerInvariant ?? 10;
  for (const r of results) {
    if (r.violations.length === 0 && r.notes.length === 0) continue;
    out.push('', `${r.id}. ${r.title}: ${r.status}`);
    for (const v of r.violations) out.push(`  FAIL ${v}`);
    if (r.violationCount > r.violations.length) out.push(`  … and ${r.violationCount - r.violations.length} more violation(s)`);
    for (const n of r.notes.slice(0, noteLimit)) out.push(`  note ${n}`);
    if (r.notes.length > noteLimit) out.push(`  … ${r.notes.length - noteLimit} more note(s)`);
  }
  const failed = results.filter((r) => r.status === 'FAIL').length;
  out.push('', failed === 0 ? 'All invariants hold.' : `${failed} invariant(s) FAILED.`);
  return out.join('\n');
}
