-- The read side (src/projections/). Every model row is written in the same transaction as its
-- projection's checkpoint, so an event affects a model exactly once, also across crashes.

-- Where each projection is in the global order of readAll: (writer's transaction, position).
CREATE TABLE projection_checkpoints (
  name            text PRIMARY KEY,
  transaction_id  xid8 NOT NULL DEFAULT '0',
  global_position bigint NOT NULL DEFAULT 0,
  updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Events a projection's handler kept failing on: parked so the projection can move on.
CREATE TABLE dead_letters (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  projection      text NOT NULL,
  event_id        uuid NOT NULL,
  stream_id       text NOT NULL,
  version         bigint NOT NULL,
  global_position bigint NOT NULL,
  event_type      text NOT NULL,
  error           text NOT NULL,
  attempts        integer NOT NULL,
  parked_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (projection, event_id)
);

-- A running rebuild (npm run projections:rebuild): its progress, for GET /admin/projections.
CREATE TABLE projection_rebuilds (
  name       text PRIMARY KEY,
  started_at timestamptz NOT NULL DEFAULT now(),
  processed  bigint NOT NULL DEFAULT 0,
  total      bigint NOT NULL DEFAULT 0
);

-- One row per order: the order decider's fold (`state`), with the fields queries filter on.
CREATE TABLE order_summary (
  order_id              text PRIMARY KEY,
  customer_id           text NOT NULL,
  status                text NOT NULL,
  items                 jsonb NOT NULL,
  total_cents           bigint NOT NULL,
  version               bigint NOT NULL,
  created_at            timestamptz NOT NULL,
  updated_at            timestamptz NOT NULL,
  last_checkout_failure jsonb,
  state                 jsonb NOT NULL
);
-- A customer's orders, newest first; created_at never changes, so keyset cursors are stable.
CREATE INDEX order_summary_by_customer ON order_summary (customer_id, created_at DESC, order_id DESC);
CREATE INDEX order_summary_by_customer_status ON order_summary (customer_id, status, created_at DESC, order_id DESC);

CREATE TABLE account_summary (
  customer_id             text PRIMARY KEY,
  balance_cents           bigint NOT NULL,
  total_deposits_cents    bigint NOT NULL,
  total_withdrawals_cents bigint NOT NULL,
  transaction_count       integer NOT NULL,
  version                 bigint NOT NULL,
  updated_at              timestamptz NOT NULL
);

-- The catalog with stock: a product's fields (product stream) and its stock levels (stock
-- stream). Either stream may be seen first, so a row can exist before its product does.
CREATE TABLE catalog (
  product_id      text PRIMARY KEY,
  product_exists  boolean NOT NULL DEFAULT false,
  name            text NOT NULL DEFAULT '',
  description     text NOT NULL DEFAULT '',
  price_cents     bigint NOT NULL DEFAULT 0,
  product_version bigint NOT NULL DEFAULT 0,
  on_hand         bigint NOT NULL DEFAULT 0,
  reserved        bigint NOT NULL DEFAULT 0,
  stock_version   bigint NOT NULL DEFAULT 0,
  updated_at      timestamptz NOT NULL DEFAULT now()
);

-- The notifications consumer: one notification per confirmed, cancelled or expired order. Its
-- inbox row and its effect commit together, so a redelivered event is a no-op.
CREATE TABLE notification_inbox (
  event_id    uuid PRIMARY KEY,
  received_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE notifications (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id    uuid NOT NULL UNIQUE,
  order_id    text NOT NULL,
  customer_id text,
  kind        text NOT NULL CHECK (kind IN ('order_confirmed', 'order_cancelled', 'order_expired')),
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notifications_by_order ON notifications (order_id);
