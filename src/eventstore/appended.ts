/**
 * The channel an append notifies as it commits (trigger `events_appended`, migration 006), with
 * an empty payload. Not every append notifies: while one appending transaction holds the
 * notifier's token, the others skip (see the migration), so a listener must keep polling briefly
 * after a wake-up and while readAll is held back by a running transaction.
 */
export const EVENTS_APPENDED_CHANNEL = 'order_actors_events_appended';
