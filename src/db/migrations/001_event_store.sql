-- The event store: one append-only table for every stream, plus each stream's current version.
-- Guarantees, enforced here rather than in application code:
--   * versions are 1-based, unique per stream and without holes (appends claim them through
--     streams.version under its row lock, in the same statement that inserts the events);
--   * an event id is stored at most once, so a retried append cannot duplicate an event;
--   * events are never updated or deleted (trigger below).
CREATE TABLE streams (
  stream_id   text PRIMARY KEY,
  stream_type text NOT NULL,
  version     bigint NOT NULL CHECK (version >= 1),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE events (
  global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- The writer's transaction: readers of the global order stop below the oldest running one,
  -- so a slow writer delays them but can never make them skip its events.
  transaction_id  xid8 NOT NULL DEFAULT pg_current_xact_id(),
  stream_id       text NOT NULL REFERENCES streams (stream_id),
  stream_type     text NOT NULL,
  version         bigint NOT NULL CHECK (version >= 1),
  event_id        uuid NOT NULL UNIQUE,
  type            text NOT NULL,
  schema_version  integer NOT NULL DEFAULT 1 CHECK (schema_version >= 1),
  data            jsonb NOT NULL,
  metadata        jsonb NOT NULL DEFAULT '{}'::jsonb,
  occurred_at     timestamptz NOT NULL,
  recorded_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (stream_id, version)
);

CREATE INDEX events_global_order ON events (transaction_id, global_position);
CREATE INDEX events_by_type ON events (stream_type, type);

CREATE FUNCTION events_are_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'events are append-only: % is not allowed', TG_OP;
END $$;

CREATE TRIGGER events_append_only
  BEFORE UPDATE OR DELETE ON events
  FOR EACH ROW EXECUTE FUNCTION events_are_immutable();
