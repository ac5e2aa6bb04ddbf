import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/*
 * Every metric this service exports, in one registry per process: the API serves it at /metrics,
 * the worker on WORKER_METRICS_PORT. Names follow Prometheus conventions (`order_actors_` prefix,
 * unit in the name, `_total` on counters). Label values come from fixed sets only (route templates,
 * command names, problem codes, stream types, projection names), never from ids or raw paths:
 * each distinct value is a time series kept forever.
 */
export const registry = new Registry();

// The process's CPU, memory, event-loop lag and GC, under the same prefix.
collectDefaultMetrics({ register: registry, prefix: 'order_actors_' });

const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20];

export const httpRequests = new Counter({
  name: 'order_actors_http_requests_total',
  help: 'HTTP requests answered, by route template (unmatched: no route), method and status.',
  labelNames: ['route', 'method', 'status'] as const,
  registers: [registry],
});

export const httpRequestDuration = new Histogram({
  name: 'order_actors_http_request_duration_seconds',
  help: 'Time from a request arriving to its answer being sent, by route template and method.',
  labelNames: ['route', 'method'] as const,
  buckets: SECONDS_BUCKETS,
  registers: [registry],
});

export const commands = new Counter({
  name: 'order_actors_commands_total',
  help: 'Commands decided, by command type and outcome (accepted, rejected); code is the problem code of a rejection ("" when accepted).',
  labelNames: ['command', 'outcome', 'code'] as const,
  registers: [registry],
});

export const commandsRefusedForLoad = new Counter({
  name: 'order_actors_commands_refused_for_load_total',
  help: 'Order commands refused with 429 before being sent, because the order already had MAX_COMMANDS_IN_FLIGHT_PER_ORDER in flight from this process.',
  labelNames: ['command'] as const,
  registers: [registry],
});

export const eventStoreAppends = new Counter({
  name: 'order_actors_event_store_appends_total',
  help: 'Appends to the event store by stream type and outcome (appended, conflict: WrongExpectedVersion, failed).',
  labelNames: ['stream_type', 'outcome'] as const,
  registers: [registry],
});

export const eventStoreAppendDuration = new Histogram({
  name: 'order_actors_event_store_append_duration_seconds',
  help: 'Time of one append to the event store, by stream type, whatever its outcome.',
  labelNames: ['stream_type'] as const,
  buckets: SECONDS_BUCKETS,
  registers: [registry],
});

export const checkouts = new Counter({
  name: 'order_actors_checkouts_total',
  help: 'Checkout sagas finished, by outcome (succeeded, failed) and failure code ("" when succeeded), as the order summary projection records them.',
  labelNames: ['outcome', 'code'] as const,
  registers: [registry],
});

export const checkoutDuration = new Histogram({
  name: 'order_actors_checkout_duration_seconds',
  help: "Time from an order's placement to its checkout's recorded outcome (the saga and the recording), by outcome, as the order summary projection records them.",
  labelNames: ['outcome'] as const,
  buckets: SECONDS_BUCKETS,
  registers: [registry],
});

export const checkoutCompensations = new Counter({
  name: 'order_actors_checkout_compensations_total',
  help: 'Compensations a failed checkout saga reports it ran (stock given back, payment refunded), as the order summary projection records them.',
  registers: [registry],
});

export const projectionBatchEvents = new Histogram({
  name: 'order_actors_projection_batch_events',
  help: 'Events passed by one committed projector batch, by projection.',
  labelNames: ['projection'] as const,
  buckets: [1, 2, 5, 10, 25, 50, 100, 200, 500, 1000],
  registers: [registry],
});

export const projectionDeadLettersParked = new Counter({
  name: 'order_actors_projection_dead_letters_parked_total',
  help: 'Events this process parked as dead letters after their attempts, by projection.',
  labelNames: ['projection'] as const,
  registers: [registry],
});

export const projectorLeader = new Gauge({
  name: 'order_actors_projector_leader',
  help: 'Whether this process runs the projection now (1: it holds its advisory lock; 0: it stands by).',
  labelNames: ['projection'] as const,
  registers: [registry],
});

export const projectionLagEvents = new Gauge({
  name: 'order_actors_projection_lag_events',
  help: 'Events stored past the projection checkpoint, read at scrape time.',
  labelNames: ['projection'] as const,
  registers: [registry],
});

export const projectionLagSeconds = new Gauge({
  name: 'order_actors_projection_lag_seconds',
  help: 'Age of the oldest event past the projection checkpoint (0 when caught up), read at scrape time.',
  labelNames: ['projection'] as const,
  registers: [registry],
});

export const projectionDeadLetters = new Gauge({
  name: 'order_actors_projection_dead_letters',
  help: 'Dead letters parked now, waiting for an operator, by projection, read at scrape time.',
  labelNames: ['projection'] as const,
  registers: [registry],
});
