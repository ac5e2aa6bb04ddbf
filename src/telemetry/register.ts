/**
 * Imported first by every entry point (src/bin/api.ts, worker.ts, start.ts), before anything loads
 * `http`, `express` or `pg`, so that the instrumentations can patch them. The service is named
 * after the entry point (`order-actors-api`, `order-actors-worker`, ...) unless OTEL_SERVICE_NAME says otherwise.
 */
import path from 'node:path';
import { startTracingFromEnv } from './tracing';

const entryPoint = path.basename(process.argv[1] ?? 'orders', path.extname(process.argv[1] ?? ''));
startTracingFromEnv(`order-actors-${entryPoint}`);
