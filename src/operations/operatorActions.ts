import type { Queryable } from '../eventstore';

/*
 * The record of what operators did (table `operator_actions`): each action once per
 * Idempotency-Key, with who asked, when, why, and its outcome. The actions themselves are
 * idempotent too (an order command keyed by the same key, a heal, a dead letter's retry); the
 * record answers a repeat with the first outcome and refuses the key for another request.
 */

export type OperatorActionName = 'cancel' | 'ship' | 'heal' | 'retry-dead-letter';

export interface OperatorAction {
  idempotencyKey: string;
  action: OperatorActionName;
  /** What it acted on: `order-<id>` or `dead-letter-<id>`. */
  target: string;
  reason: string;
  operator: string;
  requestedAt: string;
  finishedAt: string | null;
  /** What came of it (the answer, or the problem it met); null while it runs or if it was cut off. */
  outcome: unknown;
}

interface ActionRow {
  idempotency_key: string;
  action: OperatorActionName;
  target: string;
  reason: string;
  operator: string;
  requested_at: Date;
  finished_at: Date | null;
  outcome: unknown;
}

const toAction = (r: ActionRow): OperatorAction => ({
  idempotencyKey: r.idempotency_key,
  action: r.action,
  target: r.target,
  reason: r.reason,
  operator: r.operator,
  requestedAt: r.requested_at.toISOString(),
  finishedAt: r.finished_at?.toISOString() ?? null,
  outcome: r.outcome,
});

/**
 * Records the request, or finds the one this key already recorded: `fresh` tells which. The caller
 * compares a found one with its request (another request under the same key is a misuse).
 */
export async function recordAction(
  db: Queryable,
  request: Pick<OperatorAction, 'idempotencyKey' | 'action' | 'target' | 'reason' | 'operator'>,
): Promise<{ fresh: boolean; action: OperatorAction }> {
  const inserted = await db.query<ActionRow>(
    `INSERT INTO operator_actions (idempotency_key, action, target, reason, operator) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (idempotency_key) DO NOTHING RETURNING *`,
    [request.idempotencyKey, request.action, request.target, request.reason, request.operator],
  );
  if (inserted.rows[0]) return { fresh: true, action: toAction(inserted.rows[0]) };
  const { rows } = await db.query<ActionRow>('SELECT * FROM operator_actions WHERE idempotency_key = $1', [request.idempotencyKey]);
  return { fresh: false, action: toAction(rows[0]!) };
}

/** Stores what came of an action. */
export async function finishAction(db: Queryable, idempotencyKey: string, outcome: unknown): Promise<OperatorAction> {
  const { rows } = await db.query<ActionRow>('UPDATE operator_actions SET finished_at = now(), outcome = $2 WHERE idempotency_key = $1 RETURNING *', [
    idempotencyKey,
    JSON.stringify(outcome),
  ]);
  return toAction(rows[0]!);
}

/** The latest actions, newest first, on one target or on all. */
export async function listActions(db: Queryable, filter: { target?: string; limit: number }): Promise<OperatorAction[]> {
  const { rows } = await db.query<ActionRow>('SELECT * FROM operator_actions WHERE ($1::text IS NULL OR target = $1) ORDER BY requested_at DESC LIMIT $2', [
    filter.target ?? null,
    filter.limit,
  ]);
  return rows.map(toAction);
}
