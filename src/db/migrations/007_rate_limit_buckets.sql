-- Each caller's token bucket, shared by every API process so a caller's budget holds across
-- replicas (src/api/rateLimit.ts). One row per policy and caller, updated in place by one
-- statement per request; idle rows (whose bucket is full again) are swept by the API.
-- UNLOGGED: no WAL write per request. A crash empties the table, which only hands every caller a
-- full burst again; nothing else reads it, and standbys need no copy.
CREATE UNLOGGED TABLE rate_limit_buckets (
  -- The limit's name (RateLimitSettings.policy): processes with one policy share its buckets.
  policy text NOT NULL,
  -- Who the requests count against: `ip:<address>` or `<role>:<subject>`.
  caller text NOT NULL,
  tokens double precision NOT NULL,
  -- Whether the request that last touched the bucket got a token (the statement's answer).
  granted boolean NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (policy, caller)
);
CREATE INDEX rate_limit_buckets_by_age ON rate_limit_buckets (policy, updated_at);
