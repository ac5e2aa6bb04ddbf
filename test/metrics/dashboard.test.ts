import { readFileSync } from 'node:fs';
import path from 'node:path';
import { registry } from '../../src/metrics';

/*
 * The committed Grafana dashboard and Prometheus alerts (deploy/) query only series that exist:
 * the registry's (a histogram as its _bucket, _sum and _count) and the Temporal SDK's. A metric
 * renamed in src/metrics without its panel fails here, not on an operator's blank graph.
 */

const DEPLOY = path.join(__dirname, '..', '..', 'deploy');

/**
 * The Temporal SDK's worker metrics the dashboard reads, as its Prometheus exporter names them with
 * our prefix and suffixes (src/config.ts temporalTelemetry). test/telemetry/trace.test.ts sees the
 * ones a healthy checkout produces on a real worker's /metrics.
 */
const TEMPORAL_SDK_SERIES = ['order_actors_temporal_workflow_task_execution_failed_total', 'order_actors_temporal_worker_task_slots_available'];

async function definedSeries(): Promise<Set<string>> {
  const metrics = await registry.getMetricsAsJSON();
  const suffixes: Record<string, string[]> = { histogram: ['_bucket', '_sum', '_count'], summary: ['', '_sum', '_count'] };
  return new Set([...metrics.flatMap((m) => (suffixes[m.type] ?? ['']).map((suffix) => `${m.name}${suffix}`)), ...TEMPORAL_SDK_SERIES]);
}

const seriesIn = (expr: string): string[] => [...expr.matchAll(/\border_actors_[a-z0-9_]+/g)].map((m) => m[0]);

interface Panel {
  title: string;
  type: string;
  targets?: Array<{ expr: string }>;
}

test('every dashboard panel queries only series the registry or the Temporal SDK defines', async () => {
  const dashboard = JSON.parse(readFileSync(path.join(DEPLOY, 'grafana', 'dashboards', 'order-actors.json'), 'utf8')) as { panels: Panel[] };
  const defined = await definedSeries();
  const graphs = dashboard.panels.filter((p) => p.type !== 'row');
  const used = graphs.flatMap((p) => (p.targets ?? []).flatMap((t) => seriesIn(t.expr).map((series) => ({ panel: p.title, series }))));
  expect(graphs.every((p) => (p.targets ?? []).length > 0)).toBe(true);
  expect(used.filter((u) => !defined.has(u.series))).toEqual([]);
  // Every series of our own registry that an operator acts on has a panel (the process's default metrics aside).
  const ownSeries = (await registry.getMetricsAsJSON()).map((m) => m.name).filter((name) => !/^order_actors_(process|nodejs)_/.test(name));
  const graphed = new Set(used.map((u) => u.series.replace(/_(bucket|sum|count)$/, '')));
  expect(ownSeries.filter((name) => !graphed.has(name))).toEqual([]);
});

test('every alert rule queries only series the registry or the Temporal SDK defines', async () => {
  const rules = readFileSync(path.join(DEPLOY, 'prometheus', 'alerts.yml'), 'utf8');
  const exprs = [...rules.matchAll(/^\s+expr: (.+)$/gm)].map((m) => m[1]!);
  const defined = await definedSeries();
  expect(exprs.length).toBeGreaterThanOrEqual(5);
  expect(exprs.flatMap(seriesIn).filter((series) => !defined.has(series))).toEqual([]);
});
