import { Worker } from '@temporalio/worker';
import { workflowSpanSink } from '../../src/telemetry';
import { testEnv } from '../support/harness';
import { loadHistories } from './loadHistories';

test('every recorded history replays deterministically against the current workflow bundle', async () => {
  const histories = loadHistories();
  expect(histories.length).toBeGreaterThanOrEqual(16);
  const results = [];
  for await (const result of Worker.runReplayHistories({ workflowBundle: { codePath: testEnv.workflowBundle }, sinks: workflowSpanSink() }, histories)) {
    results.push({ workflowId: result.workflowId, error: result.error?.message });
  }
  expect(results).toEqual(histories.map((h) => ({ workflowId: h.workflowId, error: undefined })));
});
