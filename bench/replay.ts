/** Section `replay`: replaying the recorded histories (test/replay/histories) with the current workflow code. */
import { bundleWorkflowCode, DefaultLogger, Worker } from '@temporalio/worker';
import { workflowInterceptorModules } from '../src/telemetry';
import { loadHistories } from '../test/replay/loadHistories';
import { median, progress, type BenchResults } from './support';

export async function benchReplay(out: BenchResults): Promise<void> {
  const histories = loadHistories();
  const events = histories.reduce((n, h) => n + (h.history.events?.length ?? 0), 0);
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../src/workflows'),
    workflowInterceptorModules,
    logger: new DefaultLogger('WARN'),
  });
  const runs: number[] = [];
  let failures = 0;
  for (let r = 0; r < 3; r++) {
    const a = performance.now();
    for await (const result of Worker.runReplayHistories({ workflowBundle: { code } }, histories)) if (result.error) failures++;
    runs.push(performance.now() - a);
  }
  const ms = median(runs);
  out.details.replay = { histories: histories.length, events, runsMs: runs, failures };
  out.rows.push({
    section: 'replay',
    case: `${histories.length} histories, ${events} history events (median of 3)`,
    ours: ms,
    baseline: NaN,
    unit: 'ms',
    higherIsBetter: false,
    note: `${((events / ms) * 1000).toFixed(0)} history events/s; ${failures} replay failures; no baseline`,
  });
  progress(`replay: ${ms.toFixed(0)} ms for ${histories.length} histories (${events} events)`);
}
