-- An order's accepted client keys are looked up by key (an actor whose ledger dropped one, a
-- retried command on a closed order): by index, so the look-up does not read the whole stream.
DROP INDEX events_by_command;
CREATE INDEX events_by_command ON events (stream_id, (metadata->>'commandId')) WHERE stream_type IN ('stock', 'account', 'order');
