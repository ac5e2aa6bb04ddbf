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

/** SIGKILL the worker (and its projector) `times` times, spread over the load, restarting it at once. */
export function workerKill(times: number): Fault {
  return {
    name: `worker SIGKILL ×${times}`,
    slug: 'worker-kill',
    async run({ stack, progress, status }) {
      const injections: Injection[] = [];
      for (let k = 1; k <= times; k++) {
        await whenDone(progress, k / (times + 1));
        status(`killing the worker (${k}/${times})`);
        const injectedAt = Date.now();
        await stack.worker.stop('SIGKILL');
        const repairedAt = Date.now();
        stack.worker.start();
        status(`worker restarting (${k}/${times})`);
        await stack.workerPolling();
        injections.push({ injectedAt, repairedAt, readyAt: Date.now() });
        status(`worker back (${k}/${times})`);
      }
      return injections;
    },
  };
}

/**
 * Stops embedded Postgres (fast shutdown: sessions are cut) for `downMs`, probing DB-backed routes
 * meanwhile so the answers during the outage are observed, then starts it on the same folder.
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
        await Promise.all([
          probe.attempt({ token, route: 'GET /accounts/{customerId} (probe)' }, (api, init) =>
            api.GET('/accounts/{customerId}', { ...init, params: { path: { customerId } } }),
          ),
          probe.attempt({ token, route: 'GET /customers/{customerId}/orders (probe)' }, (api, init) =>
            api.GET('/customers/{customerId}/orders', { ...init, params: { path: { customerId } } }),
          ),
          probe.attempt({ token, route: 'GET /readyz (probe)' }, (api, init) => api.GET('/readyz', { ...init })),
        ]);
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

/** Stops the Temporal dev server (SIGTERM) and starts it again on the same SQLite file and port. */
export function temporalRestart(): Fault {
  return {
    name: 'Temporal dev server restart',
    slug: 'temporal-restart',
    async run({ stack, progress, status }) {
      await whenDone(progress, 1 / 3);
      status('Temporal stopping');
      const injectedAt = Date.now();
      await stack.temporal.stop('SIGTERM');
      const repairedAt = Date.now();
      stack.temporal.start();
      status('Temporal starting');
      await stack.temporalAnswers();
      status('Temporal back');
      return [{ injectedAt, repairedAt, readyAt: Date.now() }];
    },
  };
}

/**
 * SIGKILL the API while requests are in flight and start it again on the same port: the clients
 * see reset or refused connections and retry with the same Idempotency-Key.
 */
export function apiKill(): Fault {
  return {
    name: 'API SIGKILL mid-request',
    slug: 'api-kill',
    async run({ stack, progress, status }) {
      await whenDone(progress, 1 / 3, () => progress.inFlight >= Math.min(5, progress.orders - progress.finished));
      status(`killing the API (${progress.inFlight} requests in flight)`);
      const injectedAt = Date.now();
      await stack.api.stop('SIGKILL');
      const repairedAt = Date.now();
      stack.api.start();
      status('API restarting');
      await stack.apiListening();
      status('API back');
      return [{ injectedAt, repairedAt, readyAt: Date.now() }];
    },
  };
}
