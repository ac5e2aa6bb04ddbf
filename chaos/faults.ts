import type { PatientClient } from './client';
import type { LoadProgress } from './customers';
import type { ChaosStack } from './stack';

/** One blow and its repair. */
export interface Injection {
  /** When the fault hit (the process died, the server went down). */
  injectedAt: number;
  /** When the repair began: the restart was issued. */
  repairedAt: number;
  /** When the restarted component answered again (worker polling, server answering, API listening). */
  readyAt: number;
}

export interface FaultContext {
  stack: ChaosStack;
  progress: LoadProgress;
  /** For probes sent while the fault is active (one attempt each, observed like the load). */
  probe: PatientClient;
  /** A customer of this scenario and its token: the probes read its account. */
  probeCustomer: { customerId: string; token: string };
  /** Sets the fault's part of the progress line. */
  status: (text: string) => void;
}

export interface Fault {
  /** The table's label. */
  name: string;
  /** Used in ids and file names. */
  slug: string;
  run(ctx: FaultContext): Promise<Injection[]>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `fraction` of the virtual customers are done: the fault then hits a system under load. */
async function whenDone(progress: LoadProgress, fraction: number, extra: () => boolean = () => true): Promise<void> {
  const target = Math.max(1, Math.floor(progress.orders * fraction));
  while (!(progress.finished >= progress.orders || (progress.finished >= target && extra()))) await sleep(50);
}

/**
 * SIGKILL a worker (and its projector) `times` times, spread over the load, restarting it at once
 * as an orchestrator would. With several workers they take turns, and the others carry the orders
 * on meanwhile.
 */
export function workerKill(times: number): Fault {
  return {
    name: `worker SIGKILL ×${times}`,
    slug: 'worker-kill',
    async run({ stack, progress, status }) {
      const injections: Injection[] = [];
      for (let k = 1; k <= times; k++) {
        await whenDone(progress, k / (times + 1));
        const worker = stack.workers[(k - 1) % stack.workers.length]!;
        status(`killing ${worker.name} (${k}/${times})`);
        const injectedAt = Date.now();
        await worker.stop('SIGKILL');
        const repairedAt = Date.now();
        worker.start();
        status(`${worker.name} restarting (${k}/${times})`);
        await stack.workerPolling(worker);
        injections.push({ injectedAt, repairedAt, readyAt: Date.now() });
        status(`${worker.name} back (${k}/${times})`);
      }
      return injections;
    },
  };
}

/**
 * Stops embedded Postgres (fast shutdown: sessions are cut) for `downMs`, probing DB-backed routes
 * meanwhile so the answers during the outage are observed, then starts it on the same folder. On
 * the cluster shape Temporal's own databases are on it too, so Temporal goes down with the app.
 */
export function postgresOutage(downMs: number): Fault {
  return {
    name: `Postgres stop/start (${downMs / 1000}s down)`,
    slug: 'postgres-stop',
    async run({ stack, progress, probe, probeCustomer, status }) {
      await whenDone(progress, 1 / 3);
      status('Postgres stopping');
      const injectedAt = Date.now();
      await stack.stopPostgres();
      status('Postgres down');
      const { customerId, token } = probeCustomer;
      while (Date.now() - injectedAt < downMs) {
        await Promise.all(
          stack.apiUrls.flatMap((_, api) => [
            probe.attempt({ token, api, route: 'GET /accounts/{customerId} (probe)' }, (client, init) =>
              client.GET('/accounts/{customerId}', { ...init, params: { path: { customerId } } }),
            ),
            probe.attempt({ token, api, route: 'GET /customers/{customerId}/orders (probe)' }, (client, init) =>
              client.GET('/customers/{customerId}/orders', { ...init, params: { path: { customerId } } }),
            ),
            probe.attempt({ token, api, route: 'GET /readyz (probe)' }, (client, init) => client.GET('/readyz', { ...init })),
          ]),
        );
        await sleep(250);
      }
      const repairedAt = Date.now();
      status('Postgres starting');
      await stack.startPostgres();
      status('Postgres back');
      return [{ injectedAt, repairedAt, readyAt: Date.now() }];
    },
  };
}

/**
 * Stops each of the Temporal server's `services` in turn with `signal` and starts it again on
 * the same state and ports: the dev server (SIGTERM, its SQLite file), or the cluster's history
 * and frontend processes (SIGKILL: no shard hand-over, no goodbye to the membership ring).
 */
export function temporalRestart(services: readonly string[], signal: NodeJS.Signals): Fault {
  const blow = signal === 'SIGKILL' ? 'SIGKILL' : 'restart';
  return {
    name: `Temporal ${services.join(' + ')} ${blow}`,
    slug: 'temporal-restart',
    async run({ stack, progress, status }) {
      const injections: Injection[] = [];
      for (const [i, service] of services.entries()) {
        const server = stack.temporal[service];
        if (!server) throw new Error(`This stack has no Temporal ${service}; it has ${Object.keys(stack.temporal).join(', ')}`);
        await whenDone(progress, (i + 1) / (services.length + 2));
        status(`Temporal ${service} stopping (${signal})`);
        const injectedAt = Date.now();
        await server.stop(signal);
        const repairedAt = Date.now();
        server.start();
        status(`Temporal ${service} starting`);
        await stack.temporalAnswers();
        injections.push({ injectedAt, repairedAt, readyAt: Date.now() });
        status(`Temporal ${service} back`);
      }
      return injections;
    },
  };
}

/**
 * SIGKILL the first API while requests are in flight, keep it down for `downMs`, and start it again
 * on the same port: the clients see reset or refused connections and retry with the same
 * Idempotency-Key, on the other API when there is one.
 */
export function apiKill(downMs: number): Fault {
  return {
    name: downMs > 0 ? `API SIGKILL mid-request (${downMs / 1000}s down)` : 'API SIGKILL mid-request',
    slug: 'api-kill',
    async run({ stack, progress, status }) {
      const api = stack.apis[0]!;
      await whenDone(progress, 1 / 3, () => progress.inFlight >= Math.min(5, progress.orders - progress.finished));
      status(`killing ${api.name} (${progress.inFlight} requests in flight)`);
      const injectedAt = Date.now();
      await api.stop('SIGKILL');
      // With another API the clients repair it themselves, at once, by failing over; alone, the restart does.
      const failoverAt = stack.apis.length > 1 ? Date.now() : undefined;
      status(`${api.name} down`);
      await sleep(downMs);
      const repairedAt = failoverAt ?? Date.now();
      api.start();
      status(`${api.name} restarting`);
      await stack.apiListening(0);
      status(`${api.name} back`);
      return [{ injectedAt, repairedAt, readyAt: Date.now() }];
    },
  };
}
