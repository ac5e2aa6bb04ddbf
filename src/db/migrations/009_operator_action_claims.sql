-- Who is performing an operator action right now: a request claims its Idempotency-Key's row by
-- setting claimed_at, and only while no outcome is recorded and no other claim is younger than the
-- lease. A second request with the key while the first runs is refused (409 ACTION_IN_PROGRESS)
-- instead of performing the action again and overwriting the first's outcome.
ALTER TABLE operator_actions ADD COLUMN claimed_at timestamptz;
