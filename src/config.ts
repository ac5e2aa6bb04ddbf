import express from 'express';
import { z } from 'zod';
import { ASYMMETRIC_ALGORITHMS, type IdentityProvider, type TokenSettings } from './auth/tokens';

/**
 * express's `trust proxy` value: `false` (trust no proxy: the client address is the socket's
 * peer), `true` (trust every hop: only when nothing but the proxy can reach the API), a number of
 * hops, or addresses, subnets and names (`loopback`, `linklocal`, `uniquelocal`), comma-separated.
 */
export type TrustProxy = boolean | number | string;

/** TRUST_PROXY as express reads it: `true`/`false`, a hop count, or the proxies' addresses as written. */
export function parseTrustProxy(text: string | undefined): TrustProxy {
  const value = text?.trim() ?? '';
  if (value === '' || value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  return value;
}

/** Whether express reads `value` (it throws on an address or subnet it cannot): its own parser, so the two cannot disagree. */
function expressReads(value: TrustProxy): boolean {
  try {
    express().set('trust proxy', value);
    return true;
  } catch {
    return false;
  }
}

/** Refused here, naming TRUST_PROXY, rather than as a stack trace when the API starts. */
const trustProxySchema = z.string().optional().transform(parseTrustProxy).refine(expressReads, {
  message: 'true, false, a hop count, or addresses and subnets (10.0.0.0/8) and loopback, linklocal, uniquelocal, comma-separated',
});

/** Everything the processes read from the environment, validated once at start. */
const envSchema = z.object({
  DATABASE_URL: z.string().url().optional(),
  TEMPORAL_ADDRESS: z.string().min(1).optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TASK_QUEUE: z.string().min(1).default('orders'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Inactivity after which a PENDING order expires, e.g. `30m`, `45s`, `1500ms`. */
  ORDER_CART_TTL: z
    .string()
    .regex(/^\d+(ms|s|m|h)$/, 'a duration like 30m, 45s or 1500ms')
    .default('30m'),
  /** History length at which an order continues-as-new, even before Temporal suggests it. */
  ORDER_HISTORY_LIMIT: z.coerce.number().int().min(20).default(2000),
  /** Where `npm start` keeps embedded Postgres and the dev server's SQLite file. */
  DATA_DIR: z.string().min(1).default('.data'),
  /** Embedded Postgres under `npm start`: a fixed port, clear of a system Postgres on 5432. */
  EMBEDDED_PG_PORT: z.coerce.number().int().min(1).max(65535).default(54329),
  /** The dev server `npm start` runs: Temporal's usual ports, so the `temporal` CLI needs no --address. */
  TEMPORAL_PORT: z.coerce.number().int().min(1).max(65535).default(7233),
  TEMPORAL_UI_PORT: z.coerce.number().int().min(1).max(65535).default(8233),
  /** The Temporal Web UI the operator console links workflows to (default: the dev server's, on TEMPORAL_UI_PORT). */
  TEMPORAL_UI_URL: z.url().optional(),
  /**
   * Workflows the worker keeps in memory between tasks; past it, the least recently used is evicted
   * and replayed from its history on its next task. With WORKER_WORKFLOW_HEAP_MB it bounds the
   * worker's memory however many orders are open (docs/performance.md, memory). Size it for the
   * orders active at once, ~2 MB each with the tracing interceptors every workflow carries: 100
   * overran the default heap below and the workflow thread died of it under load.
   */
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).default(50),
  /**
   * The old-space limit of the worker's workflow thread, in MB (Node's `--max-old-space-size`, for
   * that thread only). Without it V8 sizes the thread's heap from the machine's memory (4 GB on a
   * 24 GB machine) and lets evicted workflows' garbage pile up to gigabytes before collecting it.
   * It must hold the cached workflows: at least 64 MB + 2 MB for each (checked at start-up).
   */
  WORKER_WORKFLOW_HEAP_MB: z.coerce.number().int().min(64).default(192),
  /** A workflow bundle built ahead (`writeWorkflowBundle`): the worker starts without bundling. */
  WORKFLOW_BUNDLE: z.string().min(1).optional(),
  /** The HS256 key of the service's own bearer tokens (≥ 32 characters): development and tests. `npm start` keeps one in DATA_DIR. */
  AUTH_SECRET: z.string().min(32, 'at least 32 characters (for example: openssl rand -base64 48)').optional(),
  /** An identity provider's JSON Web Key Set: then only its tokens (RS256/ES256…) are accepted, with the issuer and audience below. */
  AUTH_JWKS_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** The `iss` of the provider's tokens (required with AUTH_JWKS_URL). */
  AUTH_ISSUER: z.string().min(1).optional(),
  /** The `aud` that names this API at the provider (required with AUTH_JWKS_URL). */
  AUTH_AUDIENCE: z.string().min(1).optional(),
  /** The claim with the customer id. */
  AUTH_SUBJECT_CLAIM: z.string().min(1).default('sub'),
  /** The claim with the role (`customer` or `admin`, alone or in an array); dotted names reach into objects, e.g. `realm_access.roles`. */
  AUTH_ROLE_CLAIM: z.string().min(1).default('role'),
  /** The algorithms the provider signs with, comma-separated. */
  AUTH_ALGORITHMS: z
    .string()
    .default('RS256,ES256')
    .transform((text) => text.split(',').map((name) => name.trim()))
    .pipe(z.array(z.enum(ASYMMETRIC_ALGORITHMS)).min(1)),
  /** After a token with an unknown key id, how long before the provider's key set is fetched again. */
  AUTH_JWKS_COOLDOWN: z
    .string()
    .regex(/^\d+(ms|s|m|h)$/, 'a duration like 30s')
    .default('30s'),
  /** Per caller (token subject, or client address when anonymous): sustained requests per second… */
  RATE_LIMIT_PER_SECOND: z.coerce.number().positive().default(50),
  /** …and how many at once after being idle. */
  RATE_LIMIT_BURST: z.coerce.number().int().min(1).default(200),
  /**
   * Which reverse proxies' X-Forwarded-For gives the client address (anonymous callers are rate
   * limited by it). Unset: none, every caller is the socket's peer. See `TrustProxy`.
   */
  TRUST_PROXY: trustProxySchema,
  /** Reads waiting for a read model (`?minVersion=`) at once, per API process: one more is 503 READ_WAITS_EXHAUSTED… */
  READ_WAIT_MAX: z.coerce.number().int().min(1).default(1000),
  /** …and per caller: one more is 429 TOO_MANY_READ_WAITS. */
  READ_WAIT_MAX_PER_CALLER: z.coerce.number().int().min(1).default(100),
  /** How long a query waits for a pooled Postgres connection before failing (the API answers 503 DATABASE_UNAVAILABLE). */
  DATABASE_POOL_TIMEOUT_MS: z.coerce.number().int().min(1).default(5000),
  /** The worker's own metrics (projector, event store, commands of its activities) at `http://HOST:<port>/metrics`. Unset: not served. */
  WORKER_METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  /** The Temporal SDK's worker metrics (task slots, polls, latencies), Prometheus on `HOST:<port>`. Unset: not exported. */
  TEMPORAL_METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
});

/** The least workflow heap (MB) that holds this many cached workflows: measured, docs/performance.md (memory). */
export const workflowHeapNeededMb = (cachedWorkflows: number) => 64 + 2 * cachedWorkflows;

/**
 * The workflow heap must hold the cached workflows, or the workflow thread dies of it under load;
 * tokens from an identity provider need its issuer and audience; and one source of tokens, not two.
 */
const checkedEnvSchema = envSchema.superRefine((env, ctx) => {
  const heapNeeded = workflowHeapNeededMb(env.WORKER_MAX_CACHED_WORKFLOWS);
  if (env.WORKER_WORKFLOW_HEAP_MB < heapNeeded) {
    ctx.addIssue({
      code: 'custom',
      path: ['WORKER_WORKFLOW_HEAP_MB'],
      message: `${env.WORKER_WORKFLOW_HEAP_MB} MB cannot hold ${env.WORKER_MAX_CACHED_WORKFLOWS} cached workflows (about 2 MB each): give it at least ${heapNeeded}, or lower WORKER_MAX_CACHED_WORKFLOWS`,
    });
  }
  if (env.AUTH_JWKS_URL === undefined) return;
  for (const name of ['AUTH_ISSUER', 'AUTH_AUDIENCE'] as const) {
    if (env[name] === undefined) ctx.addIssue({ code: 'custom', path: [name], message: 'required with AUTH_JWKS_URL' });
  }
  // Whoever can answer a plain-http key set can sign tokens we accept: only loopback may skip TLS.
  const { protocol, hostname } = new URL(env.AUTH_JWKS_URL);
  if (protocol !== 'https:' && !['localhost', '127.0.0.1', '[::1]'].includes(hostname)) {
    ctx.addIssue({
      code: 'custom',
      path: ['AUTH_JWKS_URL'],
      message: 'must be https (plain http only for a provider on this machine: localhost, 127.0.0.1, [::1])',
    });
  }
  if (env.AUTH_SECRET !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['AUTH_SECRET'],
      message: 'set either AUTH_JWKS_URL (an identity provider) or AUTH_SECRET (development tokens), not both',
    });
  }
});

export type Config = z.infer<typeof envSchema>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = checkedEnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`Invalid configuration: ${problems}`);
  }
  return parsed.data;
}

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** `30m` → 1800000. The format is checked by the schema above. */
export function durationMs(text: string): number {
  const match = /^(\d+)(ms|s|m|h)$/.exec(text);
  if (!match) throw new Error(`Not a duration: ${text}`);
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

/** How the API starts new order actors, and the operator's heal restarts one. */
export function actorSettings(config: Config) {
  return { taskQueue: config.TASK_QUEUE, cartTtlMs: durationMs(config.ORDER_CART_TTL), historyLimit: config.ORDER_HISTORY_LIMIT };
}

/**
 * Whose bearer tokens the API accepts: the identity provider's when AUTH_JWKS_URL is set, else the
 * service's own, HS256 with AUTH_SECRET (or, under `npm start`, the secret `devSecret` keeps).
 */
export function tokenSettings(config: Config, devSecret?: () => string): TokenSettings {
  if (config.AUTH_JWKS_URL !== undefined) return { identityProvider: identityProvider(config, config.AUTH_JWKS_URL) };
  const secret = config.AUTH_SECRET ?? devSecret?.();
  if (secret === undefined) {
    throw new Error("Set AUTH_JWKS_URL, AUTH_ISSUER and AUTH_AUDIENCE to accept an identity provider's tokens, or AUTH_SECRET for tokens this service signs.");
  }
  return { secret };
}

function identityProvider(config: Config, jwksUrl: string): IdentityProvider {
  return {
    jwksUrl: new URL(jwksUrl),
    // Both present: checked with AUTH_JWKS_URL by the schema.
    issuer: config.AUTH_ISSUER!,
    audience: config.AUTH_AUDIENCE!,
    subjectClaim: config.AUTH_SUBJECT_CLAIM,
    roleClaim: config.AUTH_ROLE_CLAIM,
    algorithms: config.AUTH_ALGORITHMS,
    refetchCooldownMs: durationMs(config.AUTH_JWKS_COOLDOWN),
  };
}

/** What the API takes from the environment: its namespace, the order actors' settings, access, limits. */
export function apiSettings(config: Config, tokens: TokenSettings) {
  return {
    namespace: config.TEMPORAL_NAMESPACE,
    temporalUiUrl: config.TEMPORAL_UI_URL ?? `http://localhost:${config.TEMPORAL_UI_PORT}`,
    actors: actorSettings(config),
    auth: { ...tokens, rateLimit: { perSecond: config.RATE_LIMIT_PER_SECOND, burst: config.RATE_LIMIT_BURST } },
    trustProxy: config.TRUST_PROXY,
    readWaitLimits: { maxWaiting: config.READ_WAIT_MAX, maxWaitingPerCaller: config.READ_WAIT_MAX_PER_CALLER },
  };
}

export function required(config: Config, name: 'DATABASE_URL' | 'TEMPORAL_ADDRESS'): string {
  const value = config[name];
  if (!value) throw new Error(`${name} is required for this process (npm start provides it in development).`);
  return value;
}

/**
 * The Temporal SDK's telemetry for `Runtime.install`: its Prometheus exporter on TEMPORAL_METRICS_PORT,
 * named like the service's own metrics (`order_actors_temporal_*`, seconds, units and `_total` in names).
 */
export function temporalTelemetry(config: Config) {
  if (config.TEMPORAL_METRICS_PORT === undefined) return undefined;
  return {
    metrics: {
      metricPrefix: 'order_actors_temporal_',
      prometheus: {
        bindAddress: `${config.HOST}:${config.TEMPORAL_METRICS_PORT}`,
        countersTotalSuffix: true,
        unitSuffix: true,
        useSecondsForDurations: true,
      },
    },
  };
}

/** Every environment variable the app reads, for checks that deployment files name only these. */
export const configVariableNames: readonly string[] = Object.keys(envSchema.shape);
