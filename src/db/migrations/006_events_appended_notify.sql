-- Wakes the projector when events are appended, instead of it polling every few milliseconds
-- (channel EVENTS_APPENDED_CHANNEL in src/eventstore/appended.ts). NOTIFY is delivered on COMMIT
-- only, so a listener is never woken for events it cannot read yet.
--
-- A transaction that notified holds a cluster-wide lock from its commit until it ends, WAL flush
-- included, so notifying from every append serialises all appending commits: 0.14x the appends/s
-- at c = 32 (docs/performance.md). So one appending transaction at a time notifies: the one that
-- takes the transaction-level advisory lock 727003 (never waited for); the others, while it runs,
-- skip. An append that skipped commits a moment after a notifier that is still running, so the
-- listener polls briefly after each wake-up, and while readAll is held back by a running writer.
-- Statement-level, empty payload: one notification per transaction at most.
CREATE FUNCTION events_appended_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF pg_try_advisory_xact_lock(727003) THEN
    PERFORM pg_notify('order_actors_events_appended', '');
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER events_appended
  AFTER INSERT ON events
  FOR EACH STATEMENT EXECUTE FUNCTION events_appended_notify();
