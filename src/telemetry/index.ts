export { activeTracing, startTracing, startTracingFromEnv, untraced, type Tracing } from './tracing';
export { temporalClientInterceptors, temporalWorkerInterceptors, workflowInterceptorModules, workflowSpanSink } from './temporal';
