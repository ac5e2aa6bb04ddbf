import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { History } from '@temporalio/common/lib/proto-utils';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';

export const HISTORIES_DIR = path.join(__dirname, 'histories');

export interface RecordedHistory {
  file: string;
  workflowId: string;
  history: History;
}

/**
 * Every recorded history, in path order: the current recordings (`npm run histories:record`
 * rewrites test/replay/histories/*.json) and any kept in subfolders from earlier code whose runs
 * may still be open (docs/evolution.md). `file` is the path below test/replay/histories.
 */
export function loadHistories(): RecordedHistory[] {
  return readdirSync(HISTORIES_DIR, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.split(path.sep).join('/'))
    .sort()
    .map((file) => {
      const { workflowId, history } = JSON.parse(readFileSync(path.join(HISTORIES_DIR, file), 'utf8')) as { workflowId: string; history: unknown };
      return { file, workflowId, history: historyFromJSON(history) };
    });
}
