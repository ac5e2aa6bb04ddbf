import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Observation } from './client';

export interface ScenarioResult {
  /** Every order settled, no violation, no bad answer, and the fault was injected and repaired. */
  passed: boolean;
  fault: string;
  /** The fault's id (`worker-kill`, ...). */
  slug: string;
  orders: number;
  /** CONFIRMED plus PENDING with a checkout failure, by the order streams. */
  completed: number;
  confirmed: number;
  /** PENDING with a checkout failure, by its code. */
  failedBy: Record<string, number>;
  /** Invariant violations plus duplicate effects of retried Idempotency-Keys. */
  violations: number;
  /** 5xx other than 503, and 503 without Retry-After. */
  badAnswers: number;
  /** Per injection: from the repair (restart issued) to the first checkout outcome after it. */
  recoveryMs: Array<number | null>;
  /** Per injection: from the repair to the component answering again. */
  readyMs: number[];
  /** HTTP attempts sent, retries included. */
  requests: number;
  /** The load's requests that needed more than one attempt. */
  retriedRequests: number;
  /** The load's attempts per API process, and how many of them went to another API than the attempt before (a failover). */
  attemptsByApi: number[];
  failovers: number;
  /** The longest a virtual customer waited from its create to its checkout's outcome; null when none got one. */
  longestOrderMs: number | null;
  notes: string[];
  durationMs: number;
}

export interface ChaosReport {
  command: string;
  /** What ran: `Temporal dev server, 1 worker, 1 API`, or the cluster's. */
  shape: string;
  startedAt: string;
  /** os.loadavg() at the start and at the end of the run. */
  loadAverage: { start: number[]; end: number[] };
  cpus: number;
  results: ScenarioResult[];
}

/** `503×12 (Retry-After on 12), network×3`; with `byRoute`, `POST /orders → 500 INTERNAL_ERROR×2`. */
export function summarizeAnswers(observations: readonly Observation[], byRoute = false): string {
  const counts = new Map<string, { n: number; retryAfter: number }>();
  for (const o of observations) {
    const key = byRoute ? `${o.route} → ${o.status}${o.code ? ` ${o.code}` : ''}` : String(o.status);
    const entry = counts.get(key) ?? { n: 0, retryAfter: 0 };
    entry.n += 1;
    if (o.retryAfter !== undefined) entry.retryAfter += 1;
    counts.set(key, entry);
  }
  return [...counts.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, { n, retryAfter }]) => `${key}×${n}${key.includes('503') ? ` (Retry-After on ${retryAfter})` : ''}`)
    .join(', ');
}

export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

function recoveryCell(r: ScenarioResult): string {
  if (r.recoveryMs.length === 0) return 'n/a';
  return r.recoveryMs.map((ms, i) => (ms === null ? `n/a (ready ${seconds(r.readyMs[i]!)})` : seconds(ms))).join(' / ');
}

function outcomeNote(r: ScenarioResult): string {
  const failed = Object.entries(r.failedBy).map(([code, n]) => `${code} ${n}`);
  return `CONFIRMED ${r.confirmed}${failed.length ? `, PENDING with ${failed.join(', ')}` : ''}`;
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The chaos table in markdown, with the definition of its columns underneath. */
export function formatTable(results: readonly ScenarioResult[]): string {
  const lines = [
    '| fault | orders | completed | violations | bad answers | recovery | notes |',
    '| --- | ---: | ---: | ---: | ---: | --- | --- |',
    ...results
      .map((r) =>
        [
          r.fault,
          r.orders,
          r.completed,
          r.violations,
          r.badAnswers,
          recoveryCell(r),
          cell([outcomeNote(r), `${r.requests} requests`, `took ${seconds(r.durationMs)}`, ...r.notes].join('; ')),
        ].join(' | '),
      )
      .map((row) => `| ${row} |`),
    '',
    'completed: orders CONFIRMED or PENDING with a checkout failure, read from their Postgres streams. ' +
      "violations: invariant violations (npm run check:invariants, over the scenario's streams) plus duplicate effects of a retried Idempotency-Key. " +
      'bad answers: 5xx other than 503, and 503 without Retry-After. ' +
      "recovery: from the repair (the restart was issued; an API killed beside another: the kill, since the clients fail over at once) to the first checkout outcome the API delivered after it; it includes the process's own start (tsx, the worker bundling its workflows).",
  ];
  return lines.join('\n');
}

/** Writes `<dir>/chaos-<time>.json` and `.md`, and `latest.json` / `latest.md`; returns the markdown file's path. */
export function writeReport(dir: string, report: ChaosReport): string {
  mkdirSync(dir, { recursive: true });
  const stamp = report.startedAt.replace(/[:.]/g, '-');
  const markdown = [
    `# Chaos run ${report.startedAt}`,
    '',
    `Command: \`${report.command}\``,
    `Shape: ${report.shape}`,
    `Load average (1, 5, 15 min) at start: ${report.loadAverage.start.map((l) => l.toFixed(2)).join(', ')}; at end: ${report.loadAverage.end.map((l) => l.toFixed(2)).join(', ')} (${report.cpus} CPUs)`,
    '',
    formatTable(report.results),
    '',
  ].join('\n');
  const markdownPath = path.join(dir, `chaos-${stamp}.md`);
  writeFileSync(markdownPath, markdown);
  writeFileSync(path.join(dir, 'latest.md'), markdown);
  const json = `${JSON.stringify(report, null, 2)}\n`;
  writeFileSync(path.join(dir, `chaos-${stamp}.json`), json);
  writeFileSync(path.join(dir, 'latest.json'), json);
  return markdownPath;
}
