import { isSpanContextValid, trace } from '@opentelemetry/api';
import pino from 'pino';

export type Logger = pino.Logger;

/** Credentials never reach a log line, wherever an object carrying them is logged. */
export const REDACTED_PATHS = [
  'authorization',
  'headers.authorization',
  '*.authorization',
  '*.headers.authorization',
  'AUTH_SECRET',
  '*.AUTH_SECRET',
  'secret',
  '*.secret',
  'token',
  '*.token',
];

/**
 * The trace a line was written in (`trace_id`, `span_id`, the names OpenTelemetry's log data model
 * uses), so a log search and a trace find each other. Nothing when no span is active: tracing is
 * off (src/telemetry), or the work was not part of a traced request.
 */
export function traceFields(): { trace_id: string; span_id: string; trace_flags: string } | Record<string, never> {
  const context = trace.getActiveSpan()?.spanContext();
  if (!context || !isSpanContextValid(context)) return {};
  const { traceId, spanId, traceFlags } = context;
  return { trace_id: traceId, span_id: spanId, trace_flags: `0${traceFlags.toString(16)}` };
}

export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info', name = 'orders', destination?: pino.DestinationStream): Logger {
  return pino({ name, level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' }, mixin: traceFields }, destination);
}
