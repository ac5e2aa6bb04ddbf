import type { ClientInterceptors } from '@temporalio/client';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import type { WorkerInterceptors } from '@temporalio/worker';
import { activeTracing, untraced } from './tracing';

/*
 * The Temporal SDK's OpenTelemetry interceptors, always installed: they carry the trace context in
 * Temporal headers from the client's update to the workflow, and from the workflow to its
 * activities and child workflows. Without a registered tracer provider they create no-op spans.
 */

/** The client's half: starts and updates carry the caller's trace context (the HTTP request's span). */
export function temporalClientInterceptors(): ClientInterceptors {
  return { workflow: [new OpenTelemetryWorkflowClientInterceptor()] };
}

/** The workflow interceptors module bundled with the workflows: every bundler and worker must name it (src/worker.ts). */
export const workflowInterceptorModules = [require.resolve('../workflows/interceptors')];

/** The worker's half: each activity (local ones too) runs in a span continuing the workflow's. */
export function temporalWorkerInterceptors(): WorkerInterceptors {
  return {
    activity: [(ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) })],
  };
}

/**
 * The sink workflow spans leave the sandbox through, registered whether or not this process
 * traces: the bundled interceptors call it either way. Untraced, the spans are dropped.
 */
export function workflowSpanSink() {
  const { spanProcessor, resource } = activeTracing() ?? untraced;
  return { exporter: makeWorkflowExporter(spanProcessor, resource) };
}
