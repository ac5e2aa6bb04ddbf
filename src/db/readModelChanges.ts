import { createHash } from 'node:crypto';
import { Socket } from 'node:net';
import pg from 'pg';
import type { Logger } from '../logger';

/**
 * The projector's `NOTIFY` channel: after a batch commits, one notification names (by `changeKey`)
 * the projection and the streams whose events the batch applied. Sent inside the batch's
 * transaction, so Postgres delivers it when, and only if, the batch commits.
 */
export const READ_MODEL_CHANNEL = 'order_actors_read_models';

/** A payload that names everything: a batch touched more streams than one payload can hold. */
const EVERYTHING = '*';
// Postgres refuses payloads of 8000 bytes or more.
const MAX_PAYLOAD = 7999;

/**
 * "`projection` applied events of `streamId`" in a notification: 12 hex digits of a SHA-256 (a
 * collision only costs a waiter one read).
 */
export function changeKey(projection: string, streamId: string): string {
  return createHash('sha256').update(`${projection}\n${streamId}`).digest('hex').slice(0, 12);
}

/** The payload of a batch of `projection` that applied events of these streams, or `*` when they do not fit. */
export function changePayload(projection: string, streamIds: Iterable<string>): string {
  const keys = new Set<string>();
  for (const streamId of streamIds) keys.add(changeKey(projection, streamId));
  const payload = [...keys].join(',');
  return payload.length <= MAX_PAYLOAD ? payload : EVERYTHING;
}

/** What a waiting read listens to. */
export interface ReadModelChangeFeed {
  /**
   * Calls `onChange` whenever a batch of `projection` that applied events of one of `streamIds`
   * commits from now on, and also whenever the feed cannot promise it saw every such commit (its
   * connection came back after a loss). Synchronous: a commit after this call is never missed, so
   * a waiter subscribes first and reads the model second. Returns the unsubscribe (idempotent).
   */
  subscribe(projection: string, streamIds: readonly string[], onChange: () => void): () => void;
}

export interface ReadModelChangesOptions {
  logger?: Logger;
  /** How long the connection stays open with nobody subscribed (default 30 s). */
  idleCloseMs?: number;
  /** First delay before reconnecting after a failure; doubles up to 5 s (default 100 ms). */
  reconnectMs?: number;
  /** The channel to listen on (default READ_MODEL_CHANNEL, the projector's). */
  channel?: string;
}

interface Subscriber {
  keys: readonly string[];
  onChange: () => void;
}

const MAX_RECONNECT_MS = 5000;

/**
 * `LISTEN` on one dedicated connection (not from the pool) per feed, so any number of waiting
 * reads costs one connection and no queries while they wait. The connection is opened on the
 * first subscription, reopened with backoff while anyone is subscribed, and closed after it has
 * had no subscribers for `idleCloseMs`. Its socket does not keep the process alive.
 */
export class ReadModelChanges implements ReadModelChangeFeed {
  private readonly byKey = new Map<string, Set<Subscriber>>();
  private readonly all = new Set<Subscriber>();
  private client: pg.Client | undefined;
  private connecting: pg.Client | undefined;
  private connected: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private retryDelay: number;
  private closed = false;
  private readonly idleCloseMs: number;
  private readonly reconnectMs: number;
  private readonly channel: string;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly options: ReadModelChangesOptions = {},
  ) {
    this.idleCloseMs = options.idleCloseMs ?? 30_000;
    this.reconnectMs = options.reconnectMs ?? 100;
    this.retryDelay = this.reconnectMs;
    this.channel = options.channel ?? READ_MODEL_CHANNEL;
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(this.channel)) throw new Error(`Not a channel name: ${this.channel}`);
  }

  /** A feed on the same server, with the same credentials, as `pool`. */
  static forPool(pool: pg.Pool, options?: ReadModelChangesOptions): ReadModelChanges {
    const { connectionString, host, port, user, password, database, ssl, connectionTimeoutMillis } = pool.options;
    return new ReadModelChanges(
      { connectionString, host, port, user, password, database, ssl, connectionTimeoutMillis, application_name: 'order-actors-listener' },
      options,
    );
  }

  /** How many waiters are subscribed now. */
  get subscribers(): number {
    return this.all.size;
  }

  /** Whether the feed is listening now (a change committed from now on reaches its subscribers). */
  get listening(): boolean {
    return this.client !== undefined;
  }

  subscribe(projection: string, streamIds: readonly string[], onChange: () => void): () => void {
    const subscriber: Subscriber = { keys: [...new Set(streamIds.map((streamId) => changeKey(projection, streamId)))], onChange };
    this.all.add(subscriber);
    for (const key of subscriber.keys) {
      let set = this.byKey.get(key);
      if (!set) this.byKey.set(key, (set = new Set()));
      set.add(subscriber);
    }
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.open();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.all.delete(subscriber);
      for (const key of subscriber.keys) {
        const set = this.byKey.get(key);
        set?.delete(subscriber);
        if (set?.size === 0) this.byKey.delete(key);
      }
      if (this.all.size === 0) this.closeWhenIdle();
    };
  }

  /** Opens the connection now; resolves once it listens (or the attempt failed: it is retried while anyone waits). */
  listen(): Promise<void> {
    this.open();
    return this.connected ?? Promise.resolve();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.idleTimer);
    const clients = [this.client, this.connecting];
    this.client = undefined;
    this.connecting = undefined;
    await Promise.all(clients.filter((c) => c !== undefined).map((c) => c.end().catch(() => undefined)));
  }

  private open(): void {
    if (this.closed || this.client || this.connecting || this.retryTimer) return;
    this.connected = this.connect();
  }

  private async connect(): Promise<void> {
    // Our own socket, unref'd: a listener must not keep a process alive on its own.
    const client = new pg.Client({
      ...this.config,
      stream: () => {
        const socket = new Socket();
        socket.unref();
        return socket;
      },
    });
    this.connecting = client;
    client.on('notification', (message) => {
      if (message.channel === this.channel) this.deliver(message.payload ?? EVERYTHING);
    });
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${this.channel}`);
    } catch (err) {
      if (this.connecting === client) this.connecting = undefined;
      client.end().catch(() => undefined);
      if (!this.closed) this.options.logger?.warn({ err: String(err), retryInMs: this.retryDelay }, 'read model listener could not connect');
      this.retryLater();
      return;
    }
    if (this.connecting !== client) {
      // closed meanwhile
      client.end().catch(() => undefined);
      return;
    }
    this.connecting = undefined;
    this.client = client;
    this.retryDelay = this.reconnectMs;
    // A change that committed before LISTEN took effect reached nobody: whoever is subscribed reads again.
    this.wakeAll();
    if (this.all.size === 0) this.closeWhenIdle();
  }

  private lost(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.end().catch(() => undefined);
    if (!this.closed) this.options.logger?.warn('read model listener lost its connection');
    this.retryLater();
  }

  /** Reconnects after a backoff, but only for someone: a feed nobody listens to stays closed. */
  private retryLater(): void {
    if (this.closed || this.retryTimer || this.all.size === 0) return;
    const delay = this.retryDelay;
    this.retryDelay = Math.min(this.retryDelay * 2, MAX_RECONNECT_MS);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.all.size > 0) this.open();
    }, delay);
    this.retryTimer.unref();
  }

  private closeWhenIdle(): void {
    if (this.idleTimer || !this.client) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.all.size > 0) return;
      const client = this.client;
      this.client = undefined;
      client?.end().catch(() => undefined);
    }, this.idleCloseMs);
    this.idleTimer.unref();
  }

  private deliver(payload: string): void {
    if (payload === EVERYTHING) return this.wakeAll();
    for (const key of payload.split(',')) {
      const set = this.byKey.get(key);
      if (set) for (const subscriber of [...set]) subscriber.onChange();
    }
  }

  private wakeAll(): void {
    for (const subscriber of [...this.all]) subscriber.onChange();
  }
}
