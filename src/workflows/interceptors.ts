/**
 * The workflow half of tracing (@temporalio/interceptors-opentelemetry), bundled with the
 * workflows (src/telemetry/temporal.ts names this module). Not a workflow.
 *
 * Two things keep replay safe (docs/evolution.md):
 * - The traced calls wrap each step in async spans, which delays when results reach the workflow
 *   by a few microtask turns, enough to reorder an order's commands. So they run only in runs, or
 *   the parts of runs, recorded with the `otel-tracing` patch; history recorded before it replays
 *   with every call passed straight on.
 * - Every span draws ids from the workflow's seeded random numbers, and so does uuid4() (the
 *   event ids of an append): a draw a replay cannot repeat would give an append re-run after a
 *   crash new event ids, and the event store would take it for another append. So spans draw from
 *   their own named stream (`getRandomStream`), never the one uuid4() uses; and queries and update
 *   validators, which history does not record, get no span, so even span ids replay the same.
 */
import {
  OpenTelemetryInboundInterceptor,
  OpenTelemetryInternalsInterceptor,
  OpenTelemetryOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry/lib/workflow';
import {
  getRandomStream,
  patched,
  type WorkflowInboundCallsInterceptor,
  type WorkflowInterceptorsFactory,
  type WorkflowOutboundCallsInterceptor,
} from '@temporalio/workflow';

export const TRACING_PATCH = 'otel-tracing';
const SPAN_ID_STREAM = 'otel-span-ids';

/**
 * `traced` where the history was recorded with tracing, its spans' ids drawn from their own
 * stream (the SDK gives `next` back the caller's); elsewhere the call passed on unchanged.
 */
const whenTraced =
  <I, O>(traced: (input: I, next: (input: I) => O) => O) =>
  (input: I, next: (input: I) => O): O =>
    patched(TRACING_PATCH) ? getRandomStream(SPAN_ID_STREAM).with(() => traced(input, next)) : next(input);

export const interceptors: WorkflowInterceptorsFactory = () => {
  const inbound = new OpenTelemetryInboundInterceptor();
  const outbound = new OpenTelemetryOutboundInterceptor();
  const tracedInbound: WorkflowInboundCallsInterceptor = {
    execute: whenTraced((input, next) => inbound.execute(input, next)),
    handleSignal: whenTraced((input, next) => inbound.handleSignal(input, next)),
    handleUpdate: whenTraced((input, next) => inbound.handleUpdate(input, next)),
  };
  const tracedOutbound: WorkflowOutboundCallsInterceptor = {
    scheduleActivity: whenTraced((input, next) => outbound.scheduleActivity(input, next)),
    scheduleLocalActivity: whenTraced((input, next) => outbound.scheduleLocalActivity(input, next)),
    startChildWorkflowExecution: whenTraced((input, next) => outbound.startChildWorkflowExecution(input, next)),
    signalWorkflow: whenTraced((input, next) => outbound.signalWorkflow(input, next)),
    continueAsNew: whenTraced((input, next) => outbound.continueAsNew(input, next)),
    // Log lines name the active span; no span is started, so nothing is drawn or delayed.
    getLogAttributes: (input, next) => outbound.getLogAttributes(input, next),
  };
  return { inbound: [tracedInbound], outbound: [tracedOutbound], internals: [new OpenTelemetryInternalsInterceptor()] };
};
