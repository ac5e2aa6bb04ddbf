import { Writable } from 'node:stream';
import { context, trace } from '@opentelemetry/api';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { createLogger } from '../../src/logger';

// The context manager the entry points register too (AsyncLocalStorage), without exporting anything.
const provider = new NodeTracerProvider();
beforeAll(() => provider.register());
afterAll(async () => {
  await provider.shutdown();
  trace.disable();
  context.disable();
});

function capturingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger('info', 'test', destination), lines };
}

test('a line written inside a span carries its trace and span ids; a line outside any span carries none', async () => {
  const { logger, lines } = capturingLogger();
  logger.info('before');
  const ids = await trace.getTracer('test').startActiveSpan('request', async (span) => {
    await new Promise((resolve) => setImmediate(resolve)); // across an await, as a handler's lines are
    logger.info('inside');
    span.end();
    return span.spanContext();
  });
  logger.info('after');
  expect(lines.map((l) => ({ msg: l.msg, trace_id: l.trace_id, span_id: l.span_id, trace_flags: l.trace_flags }))).toEqual([
    { msg: 'before', trace_id: undefined, span_id: undefined, trace_flags: undefined },
    { msg: 'inside', trace_id: ids.traceId, span_id: ids.spanId, trace_flags: '01' },
    { msg: 'after', trace_id: undefined, span_id: undefined, trace_flags: undefined },
  ]);
});
