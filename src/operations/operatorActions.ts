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
 * How long a claim on an action holds: longer than any action takes (an order command answers
 * within 20 s, a heal waits 30 s for the new actor), so only a request cut off for good lets the
 * key be claimed again before it released it.
 */
export const ACTION_CLAIM_LEASE_SECONDS = 120;

/**
 * Records the request, claimed by the caller, or finds the one this key already recorded: `fresh`
 * tells which (a found one is not claimed: see claimAction). The caller compares a found one with
 * its request (another request under the same key is a misuse).
 */
export async function recordAction(
  db: Queryable,
  request: Pick<OperatorAction, 'idempotencyKey' | 'action' | 'target' | 'reason' | 'operator'>,
): Promise<{ fresh: boolean; action: OperatorAction }> {
  const inserted = await db.query<ActionRow>(
    `INSERT INTO operator_actions (idempotency_key, action, target, reason, operator, claimed_at) VALUES ($1, $2, $3, $4, $5, now())
     ON CONFLICT (idempotency_key) DO NOTHING RETURNING *`,
    [request.idempotencyKey, request.action, request.target, request.reason, request.operator],
  );
  if (inserted.rows[0]) return { fresh: true, action: toAction(inserted.rows[0]) };
  const { rows } = await db.query<ActionRow>('SELECT * FROM operator_actions WHERE idempotency_key = $1', [request.idempotencyKey]);
  return { fresh: false, action: toAction(rows[0]!) };
}

/**
 * Claims a recorded action with no outcome to perform it: true unless another request holds a claim
 * younger than the lease (or an outcome was recorded meanwhile). One statement, so of two requests
 * at once only one gets it.
 */
export async function claimAction(db: Queryable, idempotencyKey: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE operator_actions SET claimed_at = now()
     WHERE idempotency_key = $1 AND outcome IS NULL AND (claimed_at IS NULL OR claimed_at < now() - make_interval(secs => $2))`,
    [idempotencyKey, ACTION_CLAIM_LEASE_SECONDS],
  );
  return (rowCount ?? 0) > 0;
}

/** Gives up a claim without an outcome (the action met a passing problem): the next request with the key performs it. */
export async function releaseAction(db: Queryable, idempotencyKey: string): Promise<void> {
  await db.query('UPDATE operator_actions SET claimed_at = NULL WHERE idempotency_key = $1 AND outcome IS NULL', [idempotencyKey]);
}

/** The action as recorded now. */
export async function findAction(db: Queryable, idempotencyKey: string): Promise<OperatorAction | undefined> {
  const { rows } = await db.query<ActionRow>('SELECT * FROM operator_actions WHERE idempotency_key = $1', [idempotencyKey]);
  return rows[0] && toAction(rows[0]);
}

/**
 * Stores what came of an action, unless an outcome is already stored: the first one stays. Answers
 * the action as recorded, and whether this outcome is the one stored.
 */
export async function finishAction(db: Queryable, idempotencyKey: string, outcome: unknown): Promise<{ stored: boolean; action: OperatorAction }> {
  const { rows } = await db.query<ActionRow>(
    'UPDATE operator_actions SET finished_at = now(), outcome = $2 WHERE idempotency_key = $1 AND outcome IS NULL RETURNING *',
    [idempotencyKey, JSON.stringify(outcome)],
  );
  return rows[0] ? { stored: true, action: toAction(rows[0]) } : { stored: false, action: (await findAction(db, idempotencyKey))! };
}

/** The latest actions, newest first, on one target or on all. */
export async function listActions(db: Queryable, filter: { target?: string; limit: number }): Promise<OperatorAction[]> {
  const { rows } = await db.query<ActionRow>('SELECT * FROM operator_actions WHERE ($1::text IS NULL OR target = $1) ORDER BY requested_at DESC LIMIT $2', [
    filter.target ?? null,
    filter.limit,
  ]);
  return rows.map(toAction);
}
