import { actorSettings } from '../config';
import { ORDER_STATUSES, orderStreamId, type OrderStatus } from '../domain/order';
import { idSchema } from '../workflows/orderContract';
import { runOrderAction, type OrderActionName, type OrderActionOutcome, type OrderActionReport } from './orderActions';
import {
  EXIT,
  operatorName,
  parseCommandLine,
  positionalsNamed,
  reasonFlag,
  recordedRun,
  UsageError,
  wholeNumber,
  type ExitCode,
  type Refusal,
  type Subcommand,
} from './cli';
import { healOrder, type HealReport } from './healOrder';
import { listActions, type OperatorAction } from './operatorActions';
import {
  actorAnswersOrWhy,
  listOrders,
  orderStory,
  STORY_STREAM_TYPES,
  streamStory,
  type Change,
  type ListedOrder,
  type OrderStory,
  type TimelineEntry,
} from './operatorViews';

/*
 * `npm run orders -- show|list|stream|cancel|ship|heal`: the console's order views and actions as
 * text (or JSON with --json), on the same functions (operatorViews.ts, orderActions.ts, healOrder.ts).
 */

const json = (value: unknown) => `${JSON.stringify(value)}\n`;
const money = (cents: number) => (cents / 100).toFixed(2);
/** A JSON value on one line, cut short: a timeline is read, not parsed. */
const brief = (value: unknown, max = 80) => {
  const text = JSON.stringify(value) ?? 'undefined';
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
};
const changeText = (c: Change) => `${c.path}: ${brief(c.before, 40)} → ${brief(c.after, 40)}`;

function orderId(positionals: string[]): string {
  const [id] = positionalsNamed(positionals, ['orderId']);
  const parsed = idSchema.safeParse(id);
  if (!parsed.success) throw new UsageError(`not an order id: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

type AnswersOrWhy = Awaited<ReturnType<typeof actorAnswersOrWhy>>;

/** Each event of a stream, with the command that stored it and what it changed. */
function timelineLines(timeline: readonly TimelineEntry[]): string[] {
  return timeline.flatMap((e) => {
    const who = typeof e.metadata.commandId === 'string' ? ` [${e.metadata.commandId}]` : '';
    return [`  v${e.version} ${e.occurredAt} ${e.type}${who}`, ...e.changed.map((c) => `      ${changeText(c)}`)];
  });
}

/** An operator action's outcome in a word, as the console shows it. */
function actionOutcome(a: OperatorAction): string {
  const outcome = a.outcome as { status: 'done' } | { status: 'refused'; problem: { code: string } } | null;
  return outcome === null ? 'no outcome (cut off, or still running)' : outcome.status === 'refused' ? `refused: ${outcome.problem.code}` : 'done';
}

/** An order's story as text: the summary, the timeline, commands, checkouts, and what operators did to it. */
export function storyText(story: OrderStory & { actions: OperatorAction[]; actorAnswers: AnswersOrWhy }): string {
  const { state } = story;
  const lines = [
    `order ${story.orderId}: ${state.status} at version ${story.version}, customer ${state.customerId}, total ${money(state.totalCents)}`,
    `  items: ${state.items.map((l) => `${l.quantity} × ${l.productId}`).join(', ') || 'none'}`,
    `  actor: ${story.workflows.actor}${story.workflows.sagas.length ? `; sagas: ${story.workflows.sagas.join(', ')}` : ''}`,
    `  read model: ${story.readModel.verdict}${story.readModel.rowVersion !== null ? ` (row at version ${story.readModel.rowVersion})` : ''}`,
    ...story.readModel.differences.map((d) => `    differs: ${changeText(d)}`),
    '',
    'events (what changed after each):',
  ];
  lines.push(...timelineLines(story.timeline));
  lines.push('', 'commands its stream records as accepted:');
  for (const c of story.commands) {
    const by = c.operator ? ` by ${c.operator}${c.reason ? ` (${c.reason})` : ''}` : '';
    lines.push(`  ${c.commandId} (${c.origin}) ${c.at}: v${c.versions.join(',v')} ${c.events.join(', ')}${by}`);
  }
  if (story.checkouts.length > 0) lines.push('', 'checkout attempts:');
  for (const a of story.checkouts) {
    const o = a.outcome;
    const outcome = o.status === 'failed' ? `failed ${o.code}: ${o.message}` : o.status;
    lines.push(`  #${a.attempt} ${a.workflowId}, total ${money(a.totalCents)}, placed at v${a.placedVersion}: ${outcome}`);
    lines.push(...a.steps.map((s) => `      ${s.kind} ${s.streamId}@${s.version} ${s.type}`));
    if (o.status === 'failed' && o.compensations.length) lines.push(`      compensations: ${o.compensations.join(', ')}`);
    if (a.cancelled)
      lines.push(`      cancelled at v${a.cancelled.version} (${a.cancelled.reason}): gave back ${a.cancelled.compensations.join(', ') || 'nothing'}`);
  }
  const { list, error } = story.actorAnswers;
  lines.push('', `commands the actor answered (its current run): ${list ? (list.length === 0 ? 'none' : '') : error}`.trimEnd());
  for (const a of list ?? []) {
    const refusal = a.outcome === 'rejected' ? ` ${a.code}: ${a.message}` : '';
    lines.push(`  ${a.at ?? '?'} ${a.command}${a.commandId ? ` [${a.commandId}]` : ''} ${a.outcome}${refusal}`);
  }
  if (story.actions.length > 0) lines.push('', 'operator actions (newest first):');
  for (const a of story.actions) lines.push(`  ${a.requestedAt} ${a.action} by ${a.operator}${a.reason ? ` (${a.reason})` : ''}: ${actionOutcome(a)}`);
  return `${lines.join('\n')}\n`;
}

const show: Subcommand = {
  summary: "an order's story: events with what each changed, commands accepted and answered, checkouts, the read model beside the fold, operator actions",
  usage: ['usage: npm run orders -- show <orderId> [--json]', `Exit ${EXIT.ok} shown, ${EXIT.notFound} no such order.`].join('\n'),
  async run(args, io) {
    const { values, positionals } = parseCommandLine(args, {});
    const id = orderId(positionals);
    const connections = io.connections();
    const { db } = connections;
    // The refusals live only in the actor's history: shown when Temporal can be asked.
    const answers: Promise<AnswersOrWhy> = connections.config.TEMPORAL_ADDRESS
      ? connections.temporal().then(
          (client) => actorAnswersOrWhy(client, id),
          (err: Error) => ({ list: null, error: `Temporal could not be reached: ${err.message}` }),
        )
      : Promise.resolve({ list: null, error: 'not shown: TEMPORAL_ADDRESS is not set' });
    const [story, actions, actorAnswers] = await Promise.all([orderStory(db, id), listActions(db, { target: orderStreamId(id), limit: 50 }), answers]);
    if (!story.exists) {
      io.out(values.json ? json({ orderId: id, exists: false }) : `order ${id}: not found\n`);
      return EXIT.notFound;
    }
    // The console's story answer: the views' story and the operator actions on the order.
    io.out(values.json ? json({ ...story, actions, actorAnswers }) : storyText({ ...story, actions, actorAnswers }));
    return EXIT.ok;
  },
};

const stream: Subcommand = {
  summary: `any ${STORY_STREAM_TYPES.join(', ')} stream: its events with what each changed, and the state after the last`,
  usage: [
    'usage: npm run orders -- stream <streamId> [--limit N] [--json]',
    `  <streamId>  ${STORY_STREAM_TYPES.map((t) => `${t}-<id>`).join(', ')} (an order's story names its stock and wallet streams)`,
    '  --limit     the latest N events (default 200); the whole stream is folded',
    `Exit ${EXIT.ok} shown, ${EXIT.notFound} no such stream, ${EXIT.usage} a stream id of no type it reads.`,
  ].join('\n'),
  async run(args, io) {
    const { values, positionals } = parseCommandLine(args, { limit: { type: 'string' } });
    const [streamId] = positionalsNamed(positionals, ['streamId']);
    const found = await streamStory(io.connections().db, streamId!, { limit: wholeNumber(values.limit, '--limit') });
    if (!found) throw new UsageError(`${streamId} is not a stream of a type this reads (${STORY_STREAM_TYPES.join(', ')})`);
    if (found.version === 0) {
      io.out(values.json ? json({ streamId, exists: false }) : `stream ${streamId}: not found\n`);
      return EXIT.notFound;
    }
    if (values.json) io.out(json(found));
    else {
      const lines = [
        `stream ${found.streamId} (${found.streamType} ${found.aggregateId}) at version ${found.version}`,
        `  state: ${JSON.stringify(found.state)}`,
        '',
        `events (what changed after each)${found.omitted ? `, the latest ${found.timeline.length}; ${found.omitted} older left out` : ''}:`,
        ...timelineLines(found.timeline),
      ];
      io.out(`${lines.join('\n')}\n`);
    }
    return EXIT.ok;
  },
};

/** `--after` is the `next` a page printed: `<createdAt>,<orderId>`. */
function position(text: string | undefined) {
  if (text === undefined) return undefined;
  const [createdAt, id, ...rest] = text.split(',');
  if (!createdAt || !id || rest.length > 0 || Number.isNaN(Date.parse(createdAt)))
    throw new UsageError('--after takes the `next` a page printed: <createdAt>,<orderId>');
  return { createdAt, orderId: id };
}

/** A time Postgres reads, of a year orders can have been created in (Postgres has no year 0; Date writes years past 9999 with six digits). */
const ORDER_YEAR = /^(19[7-9]\d|[2-9]\d{3})-/;

export function dateFlag(text: string | undefined, flag: string): string | undefined {
  if (text === undefined) return undefined;
  const at = Date.parse(text);
  const iso = Number.isNaN(at) ? undefined : new Date(at).toISOString();
  if (iso === undefined || !ORDER_YEAR.test(iso)) {
    throw new UsageError(`${flag} needs a date or time from 1970 to 9999, such as 2026-11-30 or 2026-11-30T12:00:00Z`);
  }
  return iso;
}

function orderLine(o: ListedOrder): string {
  const items = o.items.reduce((n, l) => n + l.quantity, 0);
  const head = `${o.orderId}  ${o.status.padEnd(9)}  ${o.customerId}  ${money(o.totalCents)} (${items} item(s))  v${o.version}  created ${o.createdAt}`;
  return [head, ...(o.stuck ?? []).map((reason) => `    stuck: ${reason}`)].join('\n');
}

const list: Subcommand = {
  summary: 'orders, newest first: by status, customer, creation date; --stuck for those check:invariants calls stuck',
  usage: [
    'usage: npm run orders -- list [--status S] [--customer ID] [--from DATE] [--to DATE] [--stuck] [--limit N] [--after NEXT] [--json]',
    `  --status    one of ${ORDER_STATUSES.join(', ')}`,
    "  --customer  one customer's orders",
    '  --from/--to created at or after / before',
    '  --stuck     only open orders whose actor is stranded, gone or out of line, or whose checkout will not end (asks Temporal)',
    '  --limit     at most N (default 20)',
    '  --after     the page after the one that printed this `next`',
  ].join('\n'),
  async run(args, io) {
    const { values, positionals } = parseCommandLine(args, {
      status: { type: 'string' },
      customer: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      stuck: { type: 'boolean' },
      limit: { type: 'string' },
      after: { type: 'string' },
    });
    positionalsNamed(positionals, []);
    const status = values.status?.toUpperCase();
    if (status !== undefined && !(ORDER_STATUSES as readonly string[]).includes(status)) {
      throw new UsageError(`--status must be one of ${ORDER_STATUSES.join(', ')}`);
    }
    const query = {
      status: status as OrderStatus | undefined,
      customerId: values.customer,
      from: dateFlag(values.from, '--from'),
      to: dateFlag(values.to, '--to'),
      stuck: values.stuck ?? false,
      limit: wholeNumber(values.limit, '--limit') ?? 20,
      after: position(values.after),
    };
    const connections = io.connections();
    const page = await listOrders(connections.db, query, query.stuck ? { client: await connections.temporal() } : {});
    const next = page.next ? `${page.next.createdAt},${page.next.orderId}` : null;
    if (values.json) io.out(json({ orders: page.orders, next }));
    else {
      const none = query.stuck ? 'no stuck orders' : 'no orders';
      io.out(`${page.orders.length === 0 ? none : page.orders.map(orderLine).join('\n')}\n${next ? `next: --after ${next}\n` : ''}`);
    }
    return EXIT.ok;
  },
};

function actionRefusal(report: OrderActionReport): Refusal | undefined {
  const status = ({ refused: 409, 'not-found': 404, 'retry-later': 503 } as const)[report.outcome as 'refused' | 'not-found' | 'retry-later'];
  return status === undefined ? undefined : { status, code: report.code ?? 'ACTION_REFUSED', message: report.message };
}

const ACTION_EXIT: Record<OrderActionOutcome, ExitCode> = {
  done: EXIT.ok,
  'already-done': EXIT.ok,
  refused: EXIT.failed,
  'not-found': EXIT.notFound,
  'retry-later': EXIT.retryLater,
};

function actionText(report: OrderActionReport): string {
  const by = report.doneBy ? `, by ${report.doneBy.operator} at ${report.doneBy.at}${report.doneBy.reason ? ` (${report.doneBy.reason})` : ''}` : '';
  return [
    `order ${report.orderId}: ${report.action} ${report.outcome.toUpperCase()}${report.code ? ` (${report.code})` : ''}`,
    `  ${report.message}`,
    ...(report.status ? [`  stream: ${report.status} at version ${report.version}${by}`] : []),
  ].join('\n');
}

/** `cancel` and `ship`: one order command, recorded with who and why. */
function orderAction(action: OrderActionName, details: { summary: string; reason: string; refusedWhen: string }): Subcommand {
  return {
    summary: details.summary,
    usage: [
      `usage: npm run orders -- ${action} <orderId> --reason TEXT [--actor NAME] [--json]`,
      `  --reason  why (required); recorded with who in operator_actions${details.reason}`,
      '  --actor   who (default: ORDERS_ACTOR, else your login name)',
      `Exit ${EXIT.ok} done or done before, ${EXIT.failed} refused (${details.refusedWhen}), ${EXIT.notFound} no such order, ${EXIT.retryLater} try again (the order is busy, or stranded: heal it).`,
    ].join('\n'),
    async run(args, io) {
      const { values, positionals } = parseCommandLine(args, { reason: { type: 'string' }, actor: { type: 'string' } });
      const id = orderId(positionals);
      if (values.reason === undefined) throw new UsageError(`--reason is required: say why (${action})`);
      const reason = reasonFlag(values.reason)!;
      const operator = operatorName(values.actor);
      const connections = io.connections();
      const deps = { db: connections.db, client: await connections.temporal(), actors: actorSettings(connections.config) };
      const report = await recordedRun(
        deps.db,
        { action, target: orderStreamId(id), reason, operator },
        () => runOrderAction(deps, id, action, { reason, operator }),
        actionRefusal,
      );
      io.out(values.json ? json(report) : `${actionText(report)}\n`);
      return ACTION_EXIT[report.outcome];
    },
  };
}

const cancel = orderAction('cancel', {
  summary: 'cancel an order (a confirmed one is refunded and restocked first), recording who and why',
  reason: ' and in the OrderCancelled event',
  refusedWhen: 'shipped, expired',
});
const ship = orderAction('ship', {
  summary: 'mark a confirmed order shipped, recording who and why',
  reason: '',
  refusedWhen: 'not confirmed, cancelled, expired',
});

function healText(report: HealReport): string {
  const lines = [
    `order ${report.orderId}: ${report.outcome.toUpperCase()}${report.reason ? ` (${report.reason})` : ''}`,
    `  ${report.message}`,
    `  stream: ${report.stream.status} at version ${report.stream.version}`,
    `  actor before: ${report.actorBefore}`,
    ...report.actions.map((a) => `  did: ${a}`),
  ];
  return `${lines.join('\n')}\n`;
}

/** A refused heal as the console records it (HEAL_REFUSED, or ORDER_NOT_FOUND). */
function healRefusal(report: HealReport): Refusal | undefined {
  if (report.outcome !== 'refused') return undefined;
  return report.reason === 'ORDER_NOT_FOUND'
    ? { status: 404, code: 'ORDER_NOT_FOUND', message: report.message }
    : { status: 409, code: 'HEAL_REFUSED', message: report.message };
}

function healExit(report: HealReport): ExitCode {
  if (report.retryLater) return EXIT.retryLater;
  if (report.reason === 'ORDER_NOT_FOUND') return EXIT.notFound;
  return report.outcome === 'refused' ? EXIT.failed : EXIT.ok;
}

const heal: Subcommand = {
  summary: "bring a stranded order's actor back in line with its stream (docs/reliability.md)",
  usage: [
    'usage: npm run orders -- heal <orderId> [--reason TEXT] [--actor NAME] [--confirm-within-ms N] [--json]',
    "  --reason             why; recorded with who in the old run's termination, the new run's memo and an undone checkout",
    '  --actor              who (default: ORDERS_ACTOR, else your login name)',
    '  --confirm-within-ms  how long to wait for the new actor to agree with its stream (default 30000)',
    'The new actor runs on TASK_QUEUE with ORDER_CART_TTL and ORDER_HISTORY_LIMIT, as the API starts new orders.',
    `Exit ${EXIT.ok} in line (healed, already in line, or finished), ${EXIT.failed} refused: a person must look, ${EXIT.notFound} no such order, ${EXIT.retryLater} try again later (a saga or an append still runs, or not confirmed yet).`,
  ].join('\n'),
  async run(args, io) {
    const { values, positionals } = parseCommandLine(args, { reason: { type: 'string' }, actor: { type: 'string' }, 'confirm-within-ms': { type: 'string' } });
    const id = orderId(positionals);
    const confirmWithinMs = wholeNumber(values['confirm-within-ms'], '--confirm-within-ms', 0);
    const reason = reasonFlag(values.reason);
    const operator = operatorName(values.actor);
    const connections = io.connections();
    const deps = { db: connections.db, client: await connections.temporal(), actors: actorSettings(connections.config) };
    const report = await recordedRun(
      deps.db,
      { action: 'heal', target: orderStreamId(id), reason: reason ?? '', operator },
      () => healOrder(deps, id, { confirmWithinMs, operator, reason }),
      healRefusal,
    );
    io.out(values.json ? json(report) : healText(report));
    return healExit(report);
  },
};

export const orderCommands: Record<string, Subcommand> = { show, list, stream, cancel, ship, heal };
