import { orderOf, step, viewMismatch, withViewVersion, type Answer, type Call, type ModelState, type PendingView } from './model';

/*
 * Requests sent at the same time must be answered as if they ran one after another in some order.
 * `explain` looks for such an order (every permutation, and every outcome the model allows at each
 * step) and returns the model after it, or why none fits.
 *
 * A checkout's answer is the order read once its saga settled, so a command that raced it may
 * already show in that read: the view only has to match the order at its checkout or after one of
 * the requests that follow it in the chosen order.
 */

interface OpenView {
  view: PendingView;
  matched: boolean;
  why?: string;
}

type Search = { state: ModelState } | { why: string };

export function explain(state: ModelState, calls: readonly Call[], answers: readonly Answer[], label: (index: number) => string): Search {
  const checkoutOrders = new Set(calls.filter((c) => c.op.type === 'Checkout').map((c) => orderOf(state, c)?.orderId));
  const contention = checkoutOrders.size > 1;
  const reasons = new Map<string, number[][]>();
  for (const order of permutations(calls.length)) {
    const result = search(state, calls, answers, order, 0, [], contention, label);
    if ('state' in result) return result;
    reasons.set(result.why, [...(reasons.get(result.why) ?? []), order]);
  }
  if (calls.length === 1) return { why: [...reasons.keys()][0]! };
  const lines = [...reasons].map(([why, orders]) => `  in the order ${orders.map((o) => o.map((i) => i + 1).join('→')).join(', ')}: ${why}`);
  return { why: `no serial order of the ${calls.length} concurrent requests explains their answers:\n${lines.join('\n')}` };
}

function search(
  state: ModelState,
  calls: readonly Call[],
  answers: readonly Answer[],
  order: readonly number[],
  position: number,
  views: readonly OpenView[],
  contention: boolean,
  label: (index: number) => string,
): Search {
  if (position === order.length) {
    const open = views.find((v) => !v.matched);
    if (open) return { why: `checkout ${open.view.orderId}: ${open.why}` };
    return { state: views.reduce((s, v) => withViewVersion(s, v.view), state) };
  }
  const index = order[position]!;
  const verdict = step(state, calls[index]!, answers[index]!, contention);
  if ('why' in verdict) return { why: `${label(index)}: ${verdict.why}` };
  let firstWhy: string | undefined;
  for (const branch of verdict.branches) {
    const next = [...views.map((v) => ({ ...v })), ...(branch.view ? [{ view: branch.view, matched: false }] : [])];
    for (const open of next.filter((v) => !v.matched)) {
      open.why = viewMismatch(branch.state, open.view);
      open.matched = open.why === undefined;
    }
    const result = search(branch.state, calls, answers, order, position + 1, next, contention, label);
    if ('state' in result) return result;
    firstWhy ??= result.why;
  }
  return { why: firstWhy ?? 'no outcome' };
}

/** Every order of 0..n-1, the order they were listed in first. */
function permutations(n: number): number[][] {
  if (n === 0) return [[]];
  return permutations(n - 1).flatMap((rest) => Array.from({ length: n }, (_, i) => n - 1 - i).map((at) => [...rest.slice(0, at), n - 1, ...rest.slice(at)]));
}
