import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { testEnv } from '../support/harness';

const HISTORIES = path.join(__dirname, 'histories');

export function loadHistories() {
  return readdirSync(HISTORIES)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => {
      const { workflowId, history } = JSON.parse(readFileSync(path.join(HISTORIES, file), 'utf8')) as { workflowId: string; history: unknown };
      return { file, workflowId, history: historyFromJSON(history) };
    });
}

test('every recorded history replays deterministically against the current workflow bundle', async () => {
  const histories = loadHistories();
  expect(histories.length).toBeGreaterThanOrEqual(16);
  const results = [];
  for await (const result of Worker.runReplayHistories({ workflowBundle: { codePath: testEnv.workflowBundle } }, histories)) {
    results.push({ workflowId: result.workflowId, error: result.error?.message });
  }
  expect(results).toEqual(histories.map((h) => ({ workflowId: h.workflowId, error: undefined })));
});
