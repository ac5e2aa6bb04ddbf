-- The maps that grow with an aggregate's age move out of its state, into one row per key, so a
-- command reads and writes only the entries it is about (src/eventstore/keyedEntries.ts):
--   * a stock's reservations, which lived in aggregate_states.state and were rewritten whole on
--     every reserve, commit and release;
--   * an account's payments, which every command folded from the whole stream: an account now has
--     a snapshot of its totals at a version, and a command reads it plus the events after it.
-- Both are written in the transaction that appends the events, so they match the stream.

CREATE TABLE stock_reservations (
  stream_id      text NOT NULL REFERENCES aggregate_states (stream_id),
  reservation_id text NOT NULL,
  -- 0: a tombstone, released before it was ever held.
  quantity       integer NOT NULL CHECK (quantity >= 0),
  status         text NOT NULL CHECK (status IN ('reserved', 'released', 'committed', 'returned')),
  PRIMARY KEY (stream_id, reservation_id)
);

-- Existing reservations move out of the state rows, which keep their counters.
INSERT INTO stock_reservations (stream_id, reservation_id, quantity, status)
SELECT a.stream_id, r.key, (r.value->>'quantity')::integer, r.value->>'status'
  FROM aggregate_states a
 CROSS JOIN LATERAL jsonb_each(a.state->'reservations') AS r
 WHERE a.stream_type = 'stock' AND jsonb_typeof(a.state->'reservations') = 'object';
UPDATE aggregate_states SET state = state - 'reservations' WHERE stream_type = 'stock' AND state ? 'reservations';

-- A fold kept at a version (the root of the state, without its keyed entries). A cache of the
-- stream, which stays the record: a snapshot of another schema_version is ignored and rebuilt, and
-- an account without one (every account before this migration) gets one from its next command.
CREATE TABLE stream_snapshots (
  stream_id      text PRIMARY KEY REFERENCES streams (stream_id),
  stream_type    text NOT NULL,
  version        bigint NOT NULL CHECK (version >= 1),
  schema_version integer NOT NULL,
  state          jsonb NOT NULL,
  updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE account_payments (
  stream_id    text NOT NULL REFERENCES stream_snapshots (stream_id),
  payment_id   text NOT NULL,
  -- null: voided, refunded before any debit.
  order_id     text,
  amount_cents bigint NOT NULL CHECK (amount_cents >= 0),
  -- refunded or voided: the id never takes money again.
  refunded     boolean NOT NULL,
  PRIMARY KEY (stream_id, payment_id)
);

-- "Is this command already in the stream?" (a client's key on a deposit, a withdrawal, a restock)
-- by index instead of a scan of the stream. Only the aggregates whose hosts ask.
CREATE INDEX events_by_command ON events (stream_id, (metadata->>'commandId')) WHERE stream_type IN ('stock', 'account');
