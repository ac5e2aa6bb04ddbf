import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { ExpressInstrumentation, ExpressLayerType } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { detectResourcesSync, envDetectorSync, Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, NoopSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

/** What the worker hands the workflows' span sink: where workflow spans go, and as which service. */
export interface Tracing {
  resource: Resource;
  spanProcessor: SpanProcessor;
  /** Sends what is still buffered and stops. */
  shutdown(): Promise<void>;
}

/** Paths scraped or probed in a loop: a trace each would bury the requests worth reading. */
const UNTRACED_PATHS = /^\/(metrics|healthz|readyz)(\?|$)/;

let current: Tracing | undefined;

/**
 * Registers the OpenTelemetry Node SDK (context, W3C trace-context propagation) with the http,
 * express and pg instrumentations, sending finished spans to `spanProcessor`. Must run before
 * `http`, `express` or `pg` is first required: the instrumentations patch them as they load.
 */
export function startTracing(serviceName: string, spanProcessor: SpanProcessor): Tracing {
  if (current) throw new Error('tracing is already started in this process');
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over the name given here.
  const resource = new Resource({ 'service.name': serviceName }).merge(detectResourcesSync({ detectors: [envDetectorSync] }));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  provider.register();
  const unregister = registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({ ignoreIncomingRequestHook: (req) => UNTRACED_PATHS.test(req.url ?? '') }),
      // The route's handler only: a span per middleware and per mounted router (some twenty a request) says nothing the handler's does not.
      new ExpressInstrumentation({ ignoreLayersType: [ExpressLayerType.MIDDLEWARE, ExpressLayerType.ROUTER] }),
      // Only SQL some traced work runs: the projector's polling alone would start a trace a query.
      new PgInstrumentation({ requireParentSpan: true }),
    ],
  });
  current = {
    resource,
    spanProcessor,
    async shutdown() {
      unregister();
      await provider.shutdown();
      current = undefined;
    },
  };
  return current;
}

/** The tracing this process started, if any: the worker passes it on to its workflows' spans. */
export function activeTracing(): Tracing | undefined {
  return current;
}

/**
 * Tracing as the environment asks for it: OTLP over HTTP when OTEL_EXPORTER_OTLP_ENDPOINT (or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set, the exporter reading the other OTEL_* variables
 * (headers, timeout, batch sizes); otherwise nothing is registered, and the OpenTelemetry API the
 * Temporal interceptors call stays a no-op.
 */
export function startTracingFromEnv(serviceName: string, env: NodeJS.ProcessEnv = process.env): Tracing | undefined {
  if (!env.OTEL_EXPORTER_OTLP_ENDPOINT && !env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return undefined;
  if (env.OTEL_SDK_DISABLED === 'true') return undefined;
  return startTracing(serviceName, new BatchSpanProcessor(new OTLPTraceExporter()));
}

/** Where workflow spans go when this process does not trace: dropped as they end. */
export const untraced = { resource: Resource.empty(), spanProcessor: new NoopSpanProcessor() };
