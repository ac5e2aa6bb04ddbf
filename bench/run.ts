/**
 * `npm run bench`: measures the order service against baselines taken in the same run, on a fresh
 * dev server and embedded Postgres (or TEMPORAL_ADDRESS / DATABASE_URL). Writes
 * bench/results/<timestamp>.json and prints a markdown table. Every figure sits beside its baseline;
 * the claim is the ratio. Sizes scale with env vars (see `cfg` in support.ts); BENCH_SECTIONS picks
 * sections, one file each. A script, not a test.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { startLocalWorker } from '../src/devstack/localWorker';
import { allProjections, Projector } from '../src/projections';
import { throwawayDataDir } from '../src/devstack/throwawayDataDir';
import { connectClient } from '../src/temporal';
import { benchAppend } from './append';
import { benchCheckout } from './checkout';
import { benchCluster } from './cluster';
import { benchFloor, floorTargets } from './floor';
import { benchFold } from './fold';
import { benchLag } from './lag';
import { benchMemory } from './memory';
import { benchRebuild } from './rebuild';
import { benchReplay } from './replay';
import { cfg, overBudget, progress, secondsSinceStart, TASK_QUEUE, type BenchResults } from './support';

const out: BenchResults = { rows: [], skipped: [], details: {} };

function table(): string {
  const f = (x: number) => (Number.isNaN(x) ? '–' : x >= 100 ? x.toFixed(0) : x.toFixed(2));
  const lines = ['| section | case | ours | baseline | unit | ours/baseline | target | met |', '|---|---|---:|---:|---|---:|---|---|'];
  for (const r of out.rows) {
    const ratio = Number.isNaN(r.baseline) ? '–' : `${(r.ours / r.baseline).toFixed(2)}×`;
    lines.push(
      `| ${r.section} | ${r.case}${r.note ? ` (${r.note})` : ''} | ${f(r.ours)} | ${f(r.baseline)} | ${r.unit} | ${ratio} | ${r.target ?? ''} | ${r.met === undefined ? '' : r.met ? 'yes' : 'no'} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  const dataDir = throwawayDataDir('bench');
  progress(`starting stack (budget ${cfg.budgetSeconds}s) ${JSON.stringify(cfg)}`);
  const local = await startLocalWorker({
    dataDir,
    persistent: false,
    databaseUrl: process.env.DATABASE_URL,
    temporalAddress: process.env.TEMPORAL_ADDRESS,
    temporalLogLevel: 'error',
    log: (line) => progress(line),
    namespace: 'default',
    taskQueue: TASK_QUEUE,
  });
  const url = local.stack.databaseUrl;
  const client = await connectClient(local.stack.temporalAddress, 'default');
  const sections = (process.env.BENCH_SECTIONS ?? 'append,fold,lag,floor,checkout,cluster,replay,rebuild').split(',');
  let failed: unknown;
  try {
    progress('stack up');
    const section = async (name: string, fn: () => Promise<void>) => {
      if (!sections.includes(name)) return;
      if (overBudget()) return void out.skipped.push(name);
      try {
        await fn();
      } catch (err) {
        failed ??= err;
        out.skipped.push(`${name} (failed: ${(err as Error).message})`);
        progress(`${name} failed: ${(err as Error).stack}`);
      }
    };
    // Append and fold are store-level, each against plain SQL that no projector reads: they run
    // without the live projector, which would read every event ours append (0.46× vs 0.75–0.90× at
    // c = 1, performance.md). A fresh one takes over, from the checkpoints, for the sections after.
    await local.projector.stop();
    await section('append', () => benchAppend(out, url));
    await section('fold', () => benchFold(out, url));
    const projector = new Projector(local.pool, url, allProjections).start();
    await section('lag', () => benchLag(out, local.pool, url));
    await section('floor', () => benchFloor(out, local.pool, client, local.stack.temporalAddress));
    await section('checkout', () => benchCheckout(out, local.pool, client, local.stack.temporalAddress));
    floorTargets(out);
    await section('cluster', () => benchCluster(out));
    await section('replay', () => benchReplay(out));
    await section('memory', () => benchMemory(out, url, client, local.stack.temporalAddress));
    // the live projector would compete with the rebuild for the same events and CPU
    await projector.stop();
    await section('rebuild', () => benchRebuild(out, local.pool, url));
  } finally {
    await client.connection.close().catch(() => undefined);
    await local.stop().catch(() => undefined);
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const outDir = path.join(__dirname, 'results');
  mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `${stamp}.json`);
  const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model, loadavg: loadavg(), node: process.version };
  writeFileSync(
    file,
    `${JSON.stringify({ at: new Date().toISOString(), cfg, machine, ...out, error: failed instanceof Error ? failed.message : failed === undefined ? undefined : JSON.stringify(failed), seconds: secondsSinceStart() }, null, 2)}\n`,
  );
  process.stdout.write(`${table()}\n\n`);
  if (out.skipped.length) process.stdout.write(`skipped (time budget): ${out.skipped.join(', ')}\n`);
  process.stdout.write(`results: ${path.relative(process.cwd(), file)}\n`);
  if (failed) process.exitCode = 1;
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
