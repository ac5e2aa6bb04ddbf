-- What operators did from the console (cancel, ship, heal, retry a dead letter): who, when, why,
-- and what came of it. The Idempotency-Key makes each action happen once; a repeat reads its row.
CREATE TABLE operator_actions (
  idempotency_key text PRIMARY KEY,
  action text NOT NULL,
  target text NOT NULL,
  reason text NOT NULL,
  operator text NOT NULL,
  requested_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  outcome jsonb
);
CREATE INDEX operator_actions_by_target ON operator_actions (target, requested_at DESC);
