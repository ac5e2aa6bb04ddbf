import { allProjections, listDeadLetters, retryDeadLetter, type DeadLetter, type ProjectionStatus } from '../projections';
import { readSideStatus } from './operatorViews';
import { EXIT, operatorName, parseCommandLine, positionalsNamed, reasonFlag, recordedRun, wholeNumber, type Subcommand } from './cli';

/*
 * `npm run dead-letters -- status|list|retry`: the read side as the console's page shows it, the
 * events a projection parked after its handler failed on them, and applying one again once the
 * cause is fixed (src/projections/admin.ts, as `GET /admin/dead-letters` and the console's
 * retry action do).
 */

const json = (value: unknown) => `${JSON.stringify(value)}\n`;

function describe(d: DeadLetter): string {
  return [
    `#${d.id} ${d.projection}: ${d.eventType} ${d.streamId}@${d.version} (position ${d.globalPosition}), ${d.attempts} attempt(s), parked ${d.parkedAt}`,
    `    ${d.error}`,
  ].join('\n');
}

const list: Subcommand = {
  summary: 'the events projections parked (dead letters), oldest first',
  usage: [
    'usage: npm run dead-letters -- list [--projection NAME] [--limit N] [--json]',
    `  --projection  only this projection's (${allProjections.map((p) => p.name).join(', ')})`,
    '  --limit       at most N (default 100)',
  ].join('\n'),
  async run(args, io) {
    const { values, positionals } = parseCommandLine(args, { projection: { type: 'string' }, limit: { type: 'string' } });
    positionalsNamed(positionals, []);
    const limit = wholeNumber(values.limit, '--limit') ?? 100;
    const deadLetters = await listDeadLetters(io.connections().db, { projection: values.projection, limit });
    if (values.json) io.out(json({ deadLetters }));
    else io.out(deadLetters.length === 0 ? 'no dead letters\n' : `${deadLetters.map(describe).join('\n')}\n`);
    return EXIT.ok;
  },
};

const retry: Subcommand = {
  summary: 'apply a parked event again; it leaves the list when it applies',
  usage: [
    'usage: npm run dead-letters -- retry <id> [--reason TEXT] [--actor NAME] [--json]',
    '  --reason  why (the fix that makes it apply now); recorded with who in operator_actions',
    '  --actor   who retries (default: ORDERS_ACTOR, else your login name)',
    `Exit ${EXIT.ok} applied, ${EXIT.failed} failed again (it stays parked, one more attempt), ${EXIT.notFound} no such dead letter (or applied before).`,
  ].join('\n'),
  async run(args, io) {
    const { values, positionals } = parseCommandLine(args, { reason: { type: 'string' }, actor: { type: 'string' } });
    const [idText] = positionalsNamed(positionals, ['id']);
    const id = wholeNumber(idText, '<id>')!;
    const actor = operatorName(values.actor);
    const { db } = io.connections();
    const result = await recordedRun(
      db,
      { action: 'retry-dead-letter', target: `dead-letter-${id}`, reason: reasonFlag(values.reason) ?? '', operator: actor },
      () => retryDeadLetter(db, id, allProjections),
      (r) =>
        r.outcome === 'not_found'
          ? { status: 404, code: 'DEAD_LETTER_NOT_FOUND', message: 'There is no such dead letter.' }
          : r.outcome === 'failed'
            ? { status: 409, code: 'DEAD_LETTER_RETRY_FAILED', message: `The handler failed again: ${r.deadLetter.error}` }
            : undefined,
    );
    if (values.json) io.out(json({ ...result, id, retriedBy: actor }));
    else if (result.outcome === 'not_found') io.out(`dead letter #${id}: not found (no such id, or it applied before)\n`);
    else io.out(`dead letter #${id}: ${result.outcome === 'applied' ? 'APPLIED' : 'FAILED AGAIN'} (by ${actor})\n${describe(result.deadLetter)}\n`);
    return result.outcome === 'applied' ? EXIT.ok : result.outcome === 'failed' ? EXIT.failed : EXIT.notFound;
  },
};

function projectionLine(p: ProjectionStatus): string {
  const at = p.checkpoint ? `position ${p.checkpoint.globalPosition} (${p.checkpoint.updatedAt})` : 'no checkpoint';
  const rebuild = p.rebuild ? `, rebuilding ${p.rebuild.processed}/${p.rebuild.total} since ${p.rebuild.startedAt}` : '';
  return `${p.name}: ${p.state}, at ${at}, ${p.lag.events} event(s) behind (${(p.lag.ms / 1000).toFixed(1)} s), ${p.parkedEvents} parked${rebuild}`;
}

const status: Subcommand = {
  summary: "the read side: each projection's state, checkpoint, lag, rebuild progress and parked events",
  usage: 'usage: npm run dead-letters -- status [--json]',
  async run(args, io) {
    const { values, positionals } = parseCommandLine(args, {});
    positionalsNamed(positionals, []);
    const read = await readSideStatus(io.connections().db, allProjections, { limit: 100 });
    if (values.json) io.out(json(read));
    else {
      const parked = read.deadLetters.length === 0 ? ['no dead letters'] : read.deadLetters.map(describe);
      io.out(`${[...read.projections.map(projectionLine), '', ...parked].join('\n')}\n`);
    }
    return EXIT.ok;
  },
};

export const deadLetterCommands: Record<string, Subcommand> = { status, list, retry };
