-- A streams row is never deleted: it holds its stream's version, which every later append claims
-- from. Until 010 the events' foreign key refused deleting a row that had events; without it a
-- stray DELETE would succeed and wedge the stream (the next append's claim would start at version
-- 1 again and collide with its own events). This says so at once, like the events' own trigger.
-- Statement-level, so it costs nothing per append (appends update rows, never delete them).
CREATE FUNCTION streams_rows_are_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'streams rows are never deleted: % is not allowed', TG_OP;
END $$;

CREATE TRIGGER streams_never_deleted
  BEFORE DELETE OR TRUNCATE ON streams
  FOR EACH STATEMENT EXECUTE FUNCTION streams_rows_are_kept();
