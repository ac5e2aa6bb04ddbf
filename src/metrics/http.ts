import { createServer, type Server } from 'node:http';
import type { Request, RequestHandler } from 'express';
import { httpRequestDuration, httpRequests, projectionDeadLetters, projectionLagEvents, projectionLagSeconds, registry } from './registry';

/** The route label of a request no route answered (404s, a guard's 401 before any route, probes of random paths). */
export const UNMATCHED_ROUTE = 'unmatched';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** The express route template that answered (`/orders/:orderId/items`), never the raw path: its ids would make a series each. */
export function routeTemplate(req: Request): string {
  const path: unknown = (req.route as { path?: unknown } | undefined)?.path;
  return typeof path === 'string' ? `${req.baseUrl}${path}` : UNMATCHED_ROUTE;
}

const methodLabel = (method: string): string => (METHODS.has(method) ? method : 'OTHER');

/** Counts and times every request by route template, method and status, once its answer is sent. */
export const httpMetrics: RequestHandler = (req, res, next) => {
  const started = process.hrtime.bigint();
  res.once('finish', () => {
    const route = routeTemplate(req);
    const method = methodLabel(req.method);
    httpRequests.inc({ route, method, status: String(res.statusCode) });
    httpRequestDuration.observe({ route, method }, Number(process.hrtime.bigint() - started) / 1e9);
  });
  next();
};

/** What the scrape reads of each projection (projectionStatuses' answer). */
export interface ProjectionLag {
  name: string;
  lag: { events: number; ms: number };
  parkedEvents: number;
}

/**
 * GET /metrics: the registry in Prometheus' text format. Projection lag and parked dead letters
 * are read from Postgres at scrape time (`projectionLags`), so any API instance reports them,
 * wherever the projector runs.
 */
export function metricsEndpoint(projectionLags: () => Promise<readonly ProjectionLag[]>, reuseForMs = LAG_READING_REUSE_MS): RequestHandler {
  const readLags = reusedFor(reuseForMs, projectionLags);
  return async (_req, res) => {
    for (const { name, lag, parkedEvents } of await readLags()) {
      projectionLagEvents.set({ projection: name }, lag.events);
      projectionLagSeconds.set({ projection: name }, lag.ms / 1000);
      projectionDeadLetters.set({ projection: name }, parkedEvents);
    }
    res.type(registry.contentType).send(await registry.metrics());
  };
}

/**
 * How long one reading of the projections' lag answers scrapes. `/metrics` needs no token, and a
 * reading costs a few queries per projection (a count over the lag): a client scraping in a loop
 * must not turn into that many queries.
 */
export const LAG_READING_REUSE_MS = 5_000;

/** `read`, shared by concurrent callers and reused for `ms` after it resolves; a failed reading is not kept. */
function reusedFor<T>(ms: number, read: () => Promise<T>): () => Promise<T> {
  let reading: { value: Promise<T>; until: number } | undefined;
  return () => {
    if (reading && Date.now() < reading.until) return reading.value;
    const value = read();
    const current = { value, until: Infinity };
    reading = current;
    value.then(
      () => (current.until = Date.now() + ms),
      () => (reading = reading === current ? undefined : reading),
    );
    return value;
  };
}

/** How long a scrape waits for the Temporal SDK's exporter: a hung one must not hang /metrics past Prometheus' own scrape timeout (10 s by default). */
export const SDK_METRICS_TIMEOUT_MS = 3_000;

/**
 * Reads the Temporal SDK's exposition text at `url`, for serveMetrics, giving up after `timeoutMs`.
 * A failure (refused, hung, not 200) goes to `onFailure`, and the scrape answers without the SDK's series.
 */
export function sdkMetricsFrom(url: string, onFailure: (err: Error) => void, timeoutMs = SDK_METRICS_TIMEOUT_MS): () => Promise<string> {
  return async () => {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
      if (!res.ok) throw new Error(`${url} answered ${res.status}`);
      return await res.text();
    } catch (err) {
      onFailure(err as Error);
      return '';
    }
  };
}

/**
 * The worker's metrics: the registry at `/metrics` on its own port (WORKER_METRICS_PORT), followed
 * by `alsoServe`'s exposition text when given: the Temporal SDK's own worker metrics, so one scrape
 * reads both (their names differ: `order_actors_temporal_*`). A failing `alsoServe` leaves them out.
 */
export function serveMetrics(port: number, host: string, alsoServe?: () => Promise<string>): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    Promise.all([registry.metrics(), alsoServe?.().catch(() => '') ?? '']).then(
      ([own, sdk]) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(sdk ? `${own}\n${sdk}` : own),
      (err: unknown) => res.writeHead(500).end(String(err)),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
