import { Worker } from '@temporalio/worker';
import { workflowSpanSink } from '../../src/telemetry';
import { testEnv } from '../support/harness';
import { loadHistories, type RecordedHistory } from './loadHistories';

/**
 * One test per folder of the corpus: the current recordings, and each set kept from code before a
 * patch. A failure names the code generation it broke, and each test's time stays bounded as the
 * corpus grows (replaying all of it in one test outgrew jest's 60 s on a loaded CI machine).
 */
const histories = loadHistories();
const folderOf = (file: string) => (file.includes('/') ? file.slice(0, file.indexOf('/')) : '(current recordings)');
const byFolder = new Map<string, RecordedHistory[]>();
for (const h of histories) byFolder.set(folderOf(h.file), [...(byFolder.get(folderOf(h.file)) ?? []), h]);

test('the corpus holds the current recordings and the ones kept from before each patch', () => {
  expect(histories.length).toBeGreaterThanOrEqual(16);
  expect(byFolder.get('(current recordings)')?.length).toBeGreaterThan(0);
  expect(byFolder.size).toBeGreaterThan(1);
});

test.each([...byFolder.entries()])('every history in %s replays deterministically against the current workflow bundle', async (_folder, items) => {
  const results: Array<{ workflowId: string; error?: string }> = [];
  for await (const result of Worker.runReplayHistories({ workflowBundle: { codePath: testEnv.workflowBundle }, sinks: workflowSpanSink() }, items)) {
    results.push({ workflowId: result.workflowId, error: result.error?.message });
  }
  expect(results).toEqual(items.map((h) => ({ workflowId: h.workflowId, error: undefined })));
});
