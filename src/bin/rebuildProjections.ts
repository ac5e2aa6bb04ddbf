/**
 * `npm run projections:rebuild [name]`: rebuilds one projection (or every rebuildable one) from
 * position 0 into a shadow schema while the service keeps serving the old model, then swaps.
 * Shows a progress bar with rate and ETA on a terminal, a plain line every 5 s otherwise.
 * Needs DATABASE_URL.
 */
import { loadConfig, required } from '../config';
import { migrate } from '../db/migrate';
import { createPool } from '../db/pool';
import { progressBar } from '../operations/progress';
import { allProjections, rebuildProjection } from '../projections';

async function main(): Promise<void> {
  const config = loadConfig();
  const databaseUrl = required(config, 'DATABASE_URL');
  const wanted = process.argv[2];
  const rebuildable = allProjections.filter((p) => (p.tables ?? []).length > 0);
  const chosen = wanted ? rebuildable.filter((p) => p.name === wanted) : rebuildable;
  if (chosen.length === 0) {
    throw new Error(`No rebuildable projection named ${wanted}. Choose from: ${rebuildable.map((p) => p.name).join(', ')}`);
  }
  const pool = createPool(databaseUrl, 4);
  try {
    await migrate(pool);
    for (const projection of chosen) {
      const startedAt = Date.now();
      const bar = progressBar({ label: projection.name, total: 0, unit: 'events' });
      const result = await rebuildProjection(pool, databaseUrl, projection, { onProgress: (processed, total) => bar.update(processed, { total }) });
      bar.update(result.events, { total: result.events });
      bar.finish(`${projection.name}: rebuilt from ${result.events} events in ${((Date.now() - startedAt) / 1000).toFixed(1)}s and swapped in`);
    }
  } finally {
    await pool.end();
  }
}

main().catch((err) => {
  process.stderr.write(`\nrebuild failed: ${(err as Error).message}\n`);
  process.exit(1);
});
