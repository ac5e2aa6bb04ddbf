/**
 * `npm run projections:rebuild [name]`: rebuilds one projection (or every rebuildable one) from
 * position 0 into a shadow schema while the service keeps serving the old model, then swaps.
 * Needs DATABASE_URL.
 */
import { loadConfig, required } from '../config';
import { migrate } from '../db/migrate';
import { createPool } from '../db/pool';
import { allProjections, rebuildProjection } from '../projections';

function progressLine(name: string, processed: number, total: number): string {
  const ratio = total === 0 ? 1 : Math.min(1, processed / total);
  const width = 30;
  const filled = Math.round(ratio * width);
  return `\r${name} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(ratio * 100).toFixed(0).padStart(3)}% ${processed}/${total} events`;
}

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
      const result = await rebuildProjection(pool, databaseUrl, projection, {
        onProgress: (processed, total) => {
          process.stderr.write(progressLine(projection.name, processed, total));
        },
      });
      process.stderr.write(progressLine(projection.name, result.events, result.events));
      process.stderr.write(`\n${projection.name}: rebuilt from ${result.events} events in ${((Date.now() - startedAt) / 1000).toFixed(1)}s and swapped in\n`);
    }
  } finally {
    await pool.end();
  }
}

main().catch((err) => {
  process.stderr.write(`\nrebuild failed: ${(err as Error).message}\n`);
  process.exit(1);
});
