-- State-stored aggregates (stock): each stream's current state next to its events. The host
-- (src/eventstore/handleStateStoredCommand.ts) locks the row FOR UPDATE, decides, then writes the
-- new state and appends the events in the same transaction, so state and stream never disagree
-- and writers to one aggregate take turns instead of retrying.
CREATE TABLE aggregate_states (
  stream_id   text PRIMARY KEY,
  stream_type text NOT NULL,
  state       jsonb NOT NULL,
  -- The stream's version. 0 only inside the transaction that creates the row: it is inserted
  -- first, so that concurrent creators queue on its key; the host rolls back when it appends
  -- nothing, and the deferred key below refuses to commit a state whose stream does not exist.
  version     bigint NOT NULL CHECK (version >= 0),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  -- Checked at commit: every committed state has its stream, so it has events.
  CONSTRAINT aggregate_states_stream FOREIGN KEY (stream_id) REFERENCES streams (stream_id) DEFERRABLE INITIALLY DEFERRED
);

CREATE INDEX aggregate_states_by_type ON aggregate_states (stream_type, stream_id);
