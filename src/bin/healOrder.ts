/**
 * `npm run orders:heal -- <orderId> [--json] [--confirm-within-ms N]`: brings a stranded order's
 * actor back in line with its Postgres stream (src/operations/healOrder.ts, docs/reliability.md).
 * Needs DATABASE_URL and TEMPORAL_ADDRESS; a new actor runs on TASK_QUEUE with ORDER_CART_TTL and
 * ORDER_HISTORY_LIMIT, as the API starts new orders.
 *
 * Exit codes, for scripts:
 *   0   the order is in line: healed, already in line, or finished (it needs no actor)
 *   1   refused: a person must look (say, no such order)
 *   2   could not run: bad arguments or configuration, Postgres or Temporal unreachable
 *   75  refused for now (EX_TEMPFAIL): something still runs (a saga, an append), or the new actor
 *       is not confirmed yet; running it again later is safe
 */
import { parseArgs } from 'node:util';
import { actorSettings, loadConfig, required } from '../config';
import { createPool } from '../db/pool';
import { healOrder, type HealReport } from '../operations/healOrder';
import { connectClient } from '../temporal';
import { idSchema } from '../workflows/orderContract';

const USAGE = 'usage: npm run orders:heal -- <orderId> [--json] [--confirm-within-ms N]';
const EXIT = { inLine: 0, refused: 1, couldNotRun: 2, retryLater: 75 } as const;

class UsageError extends Error {}

function parse(argv: string[]): { orderId: string; json: boolean; confirmWithinMs?: number } {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { json: { type: 'boolean' }, 'confirm-within-ms': { type: 'string' } }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new UsageError('exactly one order id is needed');
  const orderId = idSchema.safeParse(positionals[0]);
  if (!orderId.success) throw new UsageError(`not an order id: ${orderId.error.issues[0]?.message}`);
  const confirm = values['confirm-within-ms'];
  const confirmWithinMs = confirm === undefined ? undefined : Number(confirm);
  if (confirmWithinMs !== undefined && (!Number.isInteger(confirmWithinMs) || confirmWithinMs < 0))
    throw new UsageError('--confirm-within-ms needs a whole number of milliseconds');
  return { orderId: orderId.data, json: values.json ?? false, confirmWithinMs };
}

function exitCode(report: HealReport): number {
  if (report.retryLater) return EXIT.retryLater;
  return report.outcome === 'refused' ? EXIT.refused : EXIT.inLine;
}

function humanReadable(report: HealReport): string {
  const lines = [
    `order ${report.orderId}: ${report.outcome.toUpperCase()}${report.reason ? ` (${report.reason})` : ''}`,
    `  ${report.message}`,
    `  stream: ${report.stream.status} at version ${report.stream.version}`,
    `  actor before: ${report.actorBefore}`,
    ...report.actions.map((a) => `  did: ${a}`),
  ];
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<number> {
  const args = parse(process.argv.slice(2));
  const config = loadConfig();
  const databaseUrl = required(config, 'DATABASE_URL');
  const temporalAddress = required(config, 'TEMPORAL_ADDRESS');
  const db = createPool(databaseUrl, 2);
  const client = await connectClient(temporalAddress, config.TEMPORAL_NAMESPACE).catch(async (err: unknown) => {
    await db.end();
    throw err;
  });
  try {
    const report = await healOrder({ db, client, actors: actorSettings(config) }, args.orderId, { confirmWithinMs: args.confirmWithinMs });
    process.stdout.write(args.json ? `${JSON.stringify(report)}\n` : humanReadable(report));
    return exitCode(report);
  } finally {
    await client.connection.close();
    await db.end();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    const message = (err as Error).message;
    process.stderr.write(err instanceof UsageError ? `orders:heal: ${message}\n${USAGE}\n` : `orders:heal could not run: ${message}\n`);
    process.exit(EXIT.couldNotRun);
  },
);
