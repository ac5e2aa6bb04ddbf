import type { Response } from 'express';
import { z } from 'zod';
import type { ReadModelChangeFeed } from '../db/readModelChanges';
import { ApiError } from './problem';
import { callerOf } from './rateLimit';

/** How long `?minVersion=N` waits for the read model before answering 504 READ_MODEL_BEHIND. */
export const DEFAULT_READ_WAIT_MS = 5000;

export const consistencyQuery = z
  .object({
    /** Wait until the model has folded at least this version (read-your-writes). */
    minVersion: z.coerce.number().int().min(1).safe().optional(),
    /** `strong`: ask the write side (the actor, the stream) instead of the read model. */
    consistency: z.enum(['eventual', 'strong']).optional(),
  })
  .strict();

/** What a read with `?minVersion=` may answer besides its row, for the route contracts. */
export const READ_WAIT_PROBLEMS = {
  429: ['TOO_MANY_READ_WAITS'],
  499: ['CLIENT_CLOSED_REQUEST'],
  503: ['READ_WAITS_EXHAUSTED'],
  504: ['READ_MODEL_BEHIND'],
} as const;

export interface ReadWaitLimits {
  /** Reads waiting at once in this process; one more is 503 READ_WAITS_EXHAUSTED. */
  maxWaiting: number;
  /** Reads waiting at once for one caller (`callerOf`); one more is 429 TOO_MANY_READ_WAITS. */
  maxWaitingPerCaller: number;
}

export const DEFAULT_READ_WAIT_LIMITS: ReadWaitLimits = { maxWaiting: 1000, maxWaitingPerCaller: 100 };

/** One request's wait: who waits (for the limits, and to notice it leave), for which model fed by which streams. */
export interface ReadWait {
  readonly waits: ReadWaits;
  readonly res: Response;
  readonly projection: string;
  readonly streamIds: readonly string[];
}

const RETRY_AFTER = { 'Retry-After': '1' };

/**
 * The waiting reads of one API process. A waiter holds no connection and sends no query while it
 * waits: it subscribes to the projector's notifications for its model and streams, reads once
 * more, and then sleeps until a batch of that projection touching them commits (or its time is up,
 * when it reads a last time). So a waiter costs 3 reads at most plus one per batch that changed
 * its row, however long it waits, and waiters of the same row share their reads.
 * Their number is bounded per process and per caller; past a bound the answer comes at once.
 */
export class ReadWaits {
  private waitingNow = 0;
  private readonly byCaller = new Map<string, number>();
  /** Orders the subscriptions, wake-ups and reads of this process's waiters. */
  private clock = 0;
  /** The read each wait key (model row) has in flight, and when it started. */
  private readonly reading = new Map<string, { startedAt: number; row: Promise<unknown> }>();

  constructor(
    /** The projector's notifications; a checkout's `?wait` listens to them too (checkoutOutcome.ts). */
    readonly changes: ReadModelChangeFeed,
    readonly waitMs: number = DEFAULT_READ_WAIT_MS,
    readonly limits: ReadWaitLimits = DEFAULT_READ_WAIT_LIMITS,
  ) {}

  /** Reads waiting now. */
  get waiting(): number {
    return this.waitingNow;
  }

  /** The wait of the request `res` answers, for a row of `projection`'s model fed by these streams. */
  forRequest(res: Response, projection: string, ...streamIds: string[]): ReadWait {
    return { waits: this, res, projection, streamIds };
  }

  /** `readAtLeast` past its first read, which did not reach the requirement. */
  async waitFor<T>(
    wait: ReadWait,
    read: () => Promise<T | undefined>,
    reached: (row: T | undefined) => boolean,
    describe: (row: T | undefined) => Record<string, unknown>,
  ): Promise<T | undefined> {
    const caller = callerOf(wait.res.req, wait.res);
    const callerWaiting = this.byCaller.get(caller) ?? 0;
    if (this.waitingNow >= this.limits.maxWaiting) {
      throw new ApiError(
        503,
        'READ_WAITS_EXHAUSTED',
        `This server already holds its ${this.limits.maxWaiting} reads waiting for the read model. Retry shortly, or read without ?minVersion.`,
        {},
        RETRY_AFTER,
      );
    }
    if (callerWaiting >= this.limits.maxWaitingPerCaller) {
      throw new ApiError(
        429,
        'TOO_MANY_READ_WAITS',
        `This caller already has ${this.limits.maxWaitingPerCaller} reads waiting for the read model. Retry when they are answered.`,
        {},
        RETRY_AFTER,
      );
    }
    this.waitingNow++;
    this.byCaller.set(caller, callerWaiting + 1);

    let changed = false;
    let gone = false;
    let wake: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    // A read must start after the last change this waiter heard of (or its subscription) to count.
    let heardAt = ++this.clock;
    const onChange = () => {
      changed = true;
      heardAt = ++this.clock;
      wake?.();
    };
    const onClose = () => {
      gone = true;
      wake?.();
    };
    // Subscribed before the next read: a batch committing after it wakes us, one before it is read.
    const unsubscribe = this.changes.subscribe(wait.projection, wait.streamIds, onChange);
    wait.res.once('close', onClose);
    const deadline = Date.now() + this.waitMs;
    const key = `${wait.projection}\n${wait.streamIds.join('\n')}`;
    try {
      let row = await this.read(key, read, heardAt);
      for (;;) {
        if (reached(row)) return row;
        if (Date.now() >= deadline) throw behind(this.waitMs, describe(row));
        if (!changed && !gone && !wait.res.req.socket.destroyed) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            timer = setTimeout(resolve, deadline - Date.now());
          });
          wake = undefined;
          clearTimeout(timer);
        }
        if (gone || wait.res.req.socket.destroyed) {
          throw new ApiError(499, 'CLIENT_CLOSED_REQUEST', 'The client went away while its read waited.');
        }
        changed = false;
        // Woken by a change, or the time is up: either way one read, which the loop judges.
        row = await this.read(key, read, heardAt);
      }
    } finally {
      unsubscribe();
      wait.res.off('close', onClose);
      clearTimeout(timer);
      this.waitingNow--;
      const left = (this.byCaller.get(caller) ?? 1) - 1;
      if (left > 0) this.byCaller.set(caller, left);
      else this.byCaller.delete(caller);
    }
  }

  /**
   * Waiters of the same row share a read that started after what each has heard: a batch that wakes
   * N waiters of one product costs one query, not N. (Waits with the same projection and streams
   * read the same row: the key names it.)
   */
  private read<T>(key: string, read: () => Promise<T | undefined>, heardAt: number): Promise<T | undefined> {
    const current = this.reading.get(key);
    if (current && current.startedAt > heardAt) return current.row as Promise<T | undefined>;
    const startedAt = ++this.clock;
    const row = read().finally(() => {
      if (this.reading.get(key)?.startedAt === startedAt) this.reading.delete(key);
    });
    this.reading.set(key, { startedAt, row });
    return row;
  }
}

function behind(waitMs: number, detail: Record<string, unknown>): ApiError {
  return new ApiError(
    504,
    'READ_MODEL_BEHIND',
    `The read model has not caught up within ${waitMs} ms. Retry, or ask with ?consistency=strong.`,
    detail,
    RETRY_AFTER,
  );
}

/**
 * Reads a model row until it has folded at least `minimum`: each key names a version the row
 * holds (`version`, `stockVersion`), asked for as `?min<Key>=` (`minVersion`, `minStockVersion`);
 * a minimum left undefined asks nothing. Without one, or when the first read meets them, it is one
 * read. Otherwise it waits for the projector to change the wait's streams (see `ReadWaits`), never
 * polling. A model that stays behind is a 504 READ_MODEL_BEHIND with Retry-After naming each
 * `min<Key>` and the row's `current<Key>`, never a stale answer passed off as the requested
 * version; too many waits are a 503 or 429 at once (`ReadWaitLimits`).
 */
export async function readAtLeast<K extends string, T extends Record<K, number>>(
  read: () => Promise<T | undefined>,
  minimum: Record<K, number | undefined>,
  wait: ReadWait,
): Promise<T | undefined> {
  const row = await read();
  const keys = Object.keys(minimum) as K[];
  const reached = (r: T | undefined) => keys.every((key) => (r?.[key] ?? 0) >= (minimum[key] ?? 0));
  if (keys.every((key) => minimum[key] === undefined) || reached(row)) return row;
  const named = (key: K) => key.charAt(0).toUpperCase() + key.slice(1);
  const describe = (r: T | undefined) =>
    Object.fromEntries(
      keys.flatMap((key) => [
        [`min${named(key)}`, minimum[key] ?? 0],
        [`current${named(key)}`, r?.[key] ?? 0],
      ]),
    );
  return wait.waits.waitFor(wait, read, reached, describe);
}
