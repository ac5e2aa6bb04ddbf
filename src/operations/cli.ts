import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Client } from '@temporalio/client';
import { loadConfig, required, type Config } from '../config';
import { createPool, type Pool } from '../db/pool';
import type { Queryable } from '../eventstore';
import { connectClient } from '../temporal';
import { textSchema } from '../workflows/orderContract';
import { finishAction, recordAction, type OperatorActionName } from './operatorActions';

/*
 * What the operator commands (`npm run orders`, `npm run dead-letters`) share: strict argument
 * parsing, `--help`, `--json`, the connections, and exit codes a script can branch on.
 */

/** The exit codes of every operator command (README, docs/operations.md). */
export const EXIT = {
  /** Done, or nothing to do: the order was already cancelled, the actor already in line. */
  ok: 0,
  /** Refused or failed: a person must look (the message says why), or Postgres or Temporal could not be reached. */
  failed: 1,
  /** The command line is wrong: an unknown flag, a missing argument. Nothing was done. */
  usage: 2,
  /** No such order or dead letter. */
  notFound: 3,
  /** Not now (EX_TEMPFAIL): something still runs (a saga, an append), or the order is busy; running it again later is safe. */
  retryLater: 75,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A wrong command line: printed with the usage, exit 2. */
export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

/** `--help` and `--json` come with every command. */
const COMMON = { help: { type: 'boolean', short: 'h' }, json: { type: 'boolean' } } as const satisfies Options;

/** `parseArgs` with `strict`: an unknown flag or a flag without its value is a UsageError, never ignored. */
export function parseCommandLine<O extends Options>(args: string[], options: O) {
  try {
    return parseArgs({ args, options: { ...COMMON, ...options }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** A whole number of at least `min` (`what` names it in the message: `--limit`, `<id>`), or undefined when not given. */
export function wholeNumber(text: string | undefined, what: string, min = 1): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min) throw new UsageError(`${what} needs a whole number of at least ${min}`);
  return value;
}

/** `--reason`: 1 to 500 characters Postgres can store, as the API takes a cancellation reason. */
export function reasonFlag(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const reason = textSchema(1, 500).safeParse(text);
  if (!reason.success) throw new UsageError(`--reason ${reason.error.issues[0]?.message}`);
  return reason.data;
}

/** Exactly `names.length` positionals, named for the message. */
export function positionalsNamed(positionals: string[], names: string[]): string[] {
  if (positionals.length !== names.length) {
    throw new UsageError(names.length === 0 ? `unexpected argument ${positionals[0]}` : `expected ${names.map((n) => `<${n}>`).join(' ')}`);
  }
  return positionals;
}

/**
 * Who runs an action, recorded with it: `--actor`, else ORDERS_ACTOR, else the login name. Kept to
 * the characters of an id, since it is stored in event metadata and Temporal reasons.
 */
export function operatorName(given: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const name = given ?? env.ORDERS_ACTOR ?? safeUserName();
  const cleaned = name
    .trim()
    .replace(/[^A-Za-z0-9_.@-]+/g, '-')
    .slice(0, 64);
  if (!/^[A-Za-z0-9]/.test(cleaned)) throw new UsageError('--actor needs a name that starts with a letter or digit');
  return cleaned;
}

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'operator'; // no passwd entry for this uid (a container); --actor says who
  }
}

/** An action's refusal as `operator_actions` records one: the console shows its code. */
export interface Refusal {
  /** What the console's route answers for it: 404 not found, 409 refused, 503 try later. */
  status: 404 | 409 | 503;
  code: string;
  message: string;
}

/**
 * Runs an operator action recorded in `operator_actions` as the console records its own: who,
 * when and why before it runs, what came of it after (`done` with the answer, or `refused` with
 * the problem). Each run is a record of its own (a fresh key): a repeat is the action's own
 * business, and each one here is idempotent (an order already cancelled, an actor already in
 * line, a dead letter already applied). A run cut off (Postgres or Temporal gone) keeps its
 * record without an outcome, as the console's does.
 */
export async function recordedRun<T>(
  db: Queryable,
  request: { action: OperatorActionName; target: string; reason: string; operator: string },
  perform: () => Promise<T>,
  refusalOf: (result: T) => Refusal | undefined,
): Promise<T> {
  const idempotencyKey = `cli-${randomUUID()}`;
  await recordAction(db, { idempotencyKey, ...request });
  const result = await perform();
  const refusal = refusalOf(result);
  await finishAction(db, idempotencyKey, refusal ? { status: 'refused', problem: { ...refusal, extra: {} } } : { status: 'done', answer: result });
  return result;
}

/** What a command opens, and closes when it is done. */
export interface Connections {
  config: Config;
  db: Pool;
  /** Opened on first use: only the commands that ask Temporal pay for connecting. */
  temporal(): Promise<Client>;
  close(): Promise<void>;
}

export function openConnections(config: Config = loadConfig()): Connections {
  const db = createPool(required(config, 'DATABASE_URL'), 4);
  let client: Promise<Client> | undefined;
  return {
    config,
    db,
    temporal: () => (client ??= connectClient(required(config, 'TEMPORAL_ADDRESS'), config.TEMPORAL_NAMESPACE)),
    async close() {
      const opened = await client?.catch(() => undefined);
      await opened?.connection.close();
      await db.end();
    },
  };
}

/** One subcommand: its help, and what it does with its arguments (parsed by itself) and the connections. */
export interface Subcommand {
  summary: string;
  usage: string;
  run(args: string[], io: CommandIo): Promise<ExitCode>;
}

/** Where a command writes, and what it may open: a test can run it without a process. */
export interface CommandIo {
  out(text: string): void;
  connections(): Connections;
}

/** The help of a program with subcommands. */
export function programHelp(program: string, commands: Record<string, Subcommand>): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  return [
    `usage: npm run ${program} -- <command> [arguments] [--json] [--help]`,
    '',
    ...Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    `Run \`npm run ${program} -- <command> --help\` for a command's arguments.`,
    `Exit codes: ${EXIT.ok} done, ${EXIT.failed} refused or failed, ${EXIT.usage} usage error, ${EXIT.notFound} not found, ${EXIT.retryLater} try again later.`,
    'Needs DATABASE_URL (and TEMPORAL_ADDRESS for what asks the order actors), as the other scripts.',
  ].join('\n');
}

/**
 * Runs `argv` (the arguments after the program's name) against `commands` and ends the process
 * with the exit code. Errors that are not the command line's are reported in one line, exit 1.
 */
export function runProgram(program: string, commands: Record<string, Subcommand>, argv: string[] = process.argv.slice(2)): void {
  let connections: Connections | undefined;
  const io: CommandIo = { out: (text) => process.stdout.write(text), connections: () => (connections ??= openConnections()) };
  const [name, ...rest] = argv;
  const command = name === undefined ? undefined : Object.hasOwn(commands, name) ? commands[name] : undefined;
  const run = async (): Promise<ExitCode> => {
    if (name === '--help' || name === '-h' || name === 'help') {
      io.out(`${programHelp(program, commands)}\n`);
      return EXIT.ok;
    }
    if (!command) throw new UsageError(name === undefined ? 'a command is needed' : `unknown command ${name}`);
    if (rest.includes('--help') || rest.includes('-h')) {
      io.out(`${command.usage}\n`);
      return EXIT.ok;
    }
    return command.run(rest, io);
  };
  void run()
    .catch((err: unknown) => {
      if (err instanceof UsageError) {
        process.stderr.write(`${program}: ${err.message}\n${command ? command.usage : programHelp(program, commands)}\n`);
        return EXIT.usage;
      }
      process.stderr.write(`${program}${name ? ` ${name}` : ''} failed: ${(err as Error).message}\n`);
      return EXIT.failed;
    })
    .then(async (code) => {
      await connections?.close().catch(() => undefined);
      process.exit(code);
    });
}
