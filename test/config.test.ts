import fc from 'fast-check';
import { loadConfig, workflowHeapNeededMb } from '../src/config';

/*
 * The workflow thread holds the cached workflows; a heap too small for them does not fail at once
 * but under load, when the thread dies of ERR_WORKER_OUT_OF_MEMORY (docs/performance.md, memory).
 * So the configuration refuses it at start-up, with both settings named.
 */

test('the defaults hold the default cache', () => {
  const { WORKER_MAX_CACHED_WORKFLOWS: cache, WORKER_WORKFLOW_HEAP_MB: heap } = loadConfig({});
  expect(heap).toBeGreaterThanOrEqual(workflowHeapNeededMb(cache));
});

test('a workflow heap is refused exactly when it cannot hold the cached workflows, and the error says what to set', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 64, max: 8000 }), (cache, heap) => {
      const load = () => loadConfig({ WORKER_MAX_CACHED_WORKFLOWS: String(cache), WORKER_WORKFLOW_HEAP_MB: String(heap) });
      if (heap >= workflowHeapNeededMb(cache)) expect(load()).toMatchObject({ WORKER_MAX_CACHED_WORKFLOWS: cache, WORKER_WORKFLOW_HEAP_MB: heap });
      else expect(load).toThrow(`WORKER_WORKFLOW_HEAP_MB: ${heap} MB cannot hold ${cache} cached workflows`);
    }),
  );
});

test('the old default, 100 cached workflows in 192 MB, is refused', () => {
  expect(() => loadConfig({ WORKER_MAX_CACHED_WORKFLOWS: '100' })).toThrow(/at least 264/);
});
