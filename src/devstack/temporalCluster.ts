import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Connection, isGrpcServiceError } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import pg from 'pg';
import { orderSearchAttributes } from '../workflows/searchAttributes';
import { portIsFree } from './freePort';
import { SupervisedProcess, type UnexpectedExit } from './supervisedProcess';
import { ensureTemporalServerBinaries, type TemporalServerBinaries } from './temporalServerBinaries';

const run = promisify(execFile);
/** gRPC status NOT_FOUND; @grpc/grpc-js, which names it, is not a dependency of ours. */
const GRPC_NOT_FOUND = 5;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The server's four roles, each its own process here, so each can be scaled, killed and watched on its own. */
export const TEMPORAL_SERVICES = ['frontend', 'history', 'matching', 'worker'] as const;
export type TemporalService = (typeof TEMPORAL_SERVICES)[number];

/** Temporal's two databases, beside the app's on the same Postgres server, and the schema folder each takes. */
export const TEMPORAL_DATABASES = [
  { name: 'temporal', schema: 'temporal' },
  { name: 'temporal_visibility', schema: 'visibility' },
] as const;

/**
 * Shards are fixed when the `temporal` database is first set up and can never change. 4 suits one
 * history process on 2 cores; a real cluster picks its size once, for its largest planned scale.
 */
export const NUM_HISTORY_SHARDS = 4;

/**
 * Dynamic config of the cluster, the same keys the dev server sets (the CLI's defaults), so a
 * search attribute is usable as soon as it is registered. docker-compose.yml mounts the same keys.
 */
export const CLUSTER_DYNAMIC_CONFIG: Record<string, unknown> = {
  'system.forceSearchAttributesCacheRefreshOnRead': true,
  'frontend.persistenceMaxQPS': 10000,
  'history.persistenceMaxQPS': 45000,
};

/** How long a closed order's history stays in Temporal (docker-compose.yml sets the same). */
export const NAMESPACE_RETENTION_HOURS = 72;

/** gRPC and membership (ringpop) port of each service, the frontend's HTTP API, and the Web UI. */
export type TemporalClusterPorts = Record<TemporalService, { grpc: number; membership: number }> & { frontendHttp: number; ui: number };

export interface PostgresServer {
  host: string;
  port: number;
  user: string;
  password: string;
}

export interface TemporalCluster {
  address: string;
  uiUrl: string;
  services: Record<TemporalService, SupervisedProcess>;
  ui: SupervisedProcess;
  logDir: string;
  stop(): Promise<void>;
}

/** Temporal's own default layout from a frontend port: the others beside it, membership 1000 below each gRPC port. */
export function clusterPorts(base: { frontend: number; ui: number }): TemporalClusterPorts {
  const service = (grpc: number) => ({ grpc, membership: grpc - 1000 });
  return {
    frontend: service(base.frontend),
    history: service(base.frontend + 1),
    matching: service(base.frontend + 2),
    worker: service(base.frontend + 6),
    frontendHttp: base.frontend + 10,
    ui: base.ui,
  };
}

/**
 * Temporal keeps each host's membership port in a Postgres `smallint` (cluster_membership): one
 * above 32767 makes the service die at start ("out of range for type smallint").
 */
export const MAX_MEMBERSHIP_PORT = 32_767;

/**
 * A layout of `clusterPorts` that is entirely free (the kernel's free-port answer cannot place the
 * other services beside the frontend), for tests, chaos and bench runs beside other clusters. All
 * of it lies below Linux's ephemeral range (32768 up), where outgoing connections and `freePort`
 * take theirs, so none can take a port between this check and the server's bind; and so the
 * membership ports stay under MAX_MEMBERSHIP_PORT.
 */
export async function freeClusterPorts(): Promise<TemporalClusterPorts> {
  for (;;) {
    const frontend = 11_000 + Math.floor(Math.random() * 20_000);
    const ports = clusterPorts({ frontend, ui: frontend + 20 });
    const all = [ports.frontendHttp, ports.ui, ...TEMPORAL_SERVICES.flatMap((s) => [ports[s].grpc, ports[s].membership])];
    if ((await Promise.all(all.map(portIsFree))).every(Boolean)) return ports;
  }
}

export function postgresServerOf(databaseUrl: string): PostgresServer {
  const url = new URL(databaseUrl);
  return { host: url.hostname, port: Number(url.port || 5432), user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) };
}

/**
 * Creates Temporal's databases on first use and brings their schema up to the server's version
 * with the server's own schema tool: `setup-schema -v 0.0` once, then `update-schema`, which only
 * applies the versions a database lacks (so a restart, or a newer server, just works).
 */
async function prepareDatabases(binaries: TemporalServerBinaries, server: PostgresServer, log: (line: string) => void): Promise<void> {
  const admin = new pg.Client({ host: server.host, port: server.port, user: server.user, password: server.password, database: 'postgres' });
  await admin.connect();
  try {
    for (const db of TEMPORAL_DATABASES) {
      // The password goes in the environment, not the arguments, which any local user can list.
      const tool = (...args: string[]) =>
        run(binaries.sqlTool, ['--plugin', 'postgres12', '--ep', server.host, '--port', String(server.port), '--user', server.user, '--db', db.name, ...args], {
          env: { ...process.env, SQL_PASSWORD: server.password },
        });
      const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [db.name]);
      if (!rowCount) {
        log(`Creating the ${db.name} database`);
        await tool('create-database');
        await tool('setup-schema', '-v', '0.0');
      }
      await tool('update-schema', '-d', path.join(binaries.postgresSchemaDir, db.schema, 'versioned'));
    }
  } finally {
    await admin.end();
  }
}

/** The server's static config: JSON, which is YAML too, so no YAML library is needed to write it. */
function serverConfig(server: PostgresServer, ports: TemporalClusterPorts): object {
  const datastore = (databaseName: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `${server.host}:${server.port}`,
      connectProtocol: 'tcp',
      user: server.user,
      password: server.password,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const rpc = (service: TemporalService, extra: object = {}) => ({
    rpc: { grpcPort: ports[service].grpc, membershipPort: ports[service].membership, bindOnLocalHost: true, ...extra },
  });
  return {
    log: { stdout: true, level: 'warn' },
    persistence: {
      defaultStore: 'default',
      visibilityStore: 'visibility',
      numHistoryShards: NUM_HISTORY_SHARDS,
      datastores: { default: datastore('temporal', 20), visibility: datastore('temporal_visibility', 10) },
    },
    global: { membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' } },
    services: {
      frontend: rpc('frontend', { httpPort: ports.frontendHttp }),
      history: rpc('history'),
      matching: rpc('matching'),
      worker: rpc('worker'),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: { active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: `127.0.0.1:${ports.frontend.grpc}` } },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: 'config/dynamicconfig.yaml', pollInterval: '10s' },
  };
}

/** Dynamic config's file format: each key holds a list of values with (here empty) constraints. */
function dynamicConfigFile(): object {
  return Object.fromEntries(Object.entries(CLUSTER_DYNAMIC_CONFIG).map(([key, value]) => [key, [{ value, constraints: {} }]]));
}

function uiConfig(ports: TemporalClusterPorts, namespace: string): object {
  return {
    temporalGrpcAddress: `127.0.0.1:${ports.frontend.grpc}`,
    host: '127.0.0.1',
    port: ports.ui,
    publicPath: '',
    enableUi: true,
    defaultNamespace: namespace,
    cors: { allowOrigins: [`http://127.0.0.1:${ports.ui}`], cookieInsecure: true },
    auth: { enabled: false },
  };
}

async function retryWhileNotFound<T>(call: () => Promise<T>, deadline: number): Promise<T> {
  for (;;) {
    try {
      return await call();
    } catch (err) {
      if (!isGrpcServiceError(err) || Number(err.code) !== GRPC_NOT_FOUND || Date.now() > deadline) throw err;
      await sleep(500);
    }
  }
}

/** Waits for the frontend, then registers the namespace and the orders' search attributes if missing. */
async function registerNamespace(address: string, namespace: string, log: (line: string) => void): Promise<void> {
  const deadline = Date.now() + 180_000;
  let connection: Connection | undefined;
  for (;;) {
    try {
      connection ??= await Connection.connect({ address, connectTimeout: 2000 });
      await connection.workflowService.getSystemInfo({});
      break;
    } catch (err) {
      if (Date.now() > deadline)
        throw new Error(`The Temporal frontend at ${address} did not answer within 3 minutes: ${(err as Error).message}`, { cause: err });
      await sleep(500);
    }
  }
  try {
    try {
      await connection.workflowService.describeNamespace({ namespace });
    } catch {
      log(`Registering namespace ${namespace}`);
      await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs(`${NAMESPACE_RETENTION_HOURS} hours`) });
    }
    // A new namespace reaches the other services' caches a few seconds after it is registered.
    const { customAttributes } = await retryWhileNotFound(() => connection.operatorService.listSearchAttributes({ namespace }), deadline);
    const missing = orderSearchAttributes.filter((a) => !(a.name in customAttributes));
    if (missing.length > 0) {
      log(`Registering search attributes ${missing.map((a) => a.name).join(', ')}`);
      const searchAttributes = Object.fromEntries(missing.map((a) => [a.name, temporal.api.enums.v1.IndexedValueType[`INDEXED_VALUE_TYPE_${a.type}`]]));
      await retryWhileNotFound(() => connection.operatorService.addSearchAttributes({ namespace, searchAttributes }), deadline);
    }
  } finally {
    await connection.close();
  }
}

/**
 * A Temporal cluster on Postgres with SQL visibility: frontend, history, matching and worker as
 * separate processes (restarted if they die, as an orchestrator would), and the Web UI server. State
 * lives in Postgres, so stopping and starting it again resumes every workflow.
 */
export async function startTemporalCluster(options: {
  dataDir: string;
  postgres: PostgresServer;
  ports: TemporalClusterPorts;
  namespace: string;
  log: (line: string) => void;
  onUnexpectedExit?: (exit: UnexpectedExit) => void;
}): Promise<TemporalCluster> {
  const { dataDir, ports, log } = options;
  const tooHigh = TEMPORAL_SERVICES.filter((service) => ports[service].membership > MAX_MEMBERSHIP_PORT);
  if (tooHigh.length > 0)
    throw new Error(
      `Temporal's membership ports must be at most ${MAX_MEMBERSHIP_PORT}; ${tooHigh.join(', ')} would get ${tooHigh.map((s) => ports[s].membership).join(', ')}`,
    );
  const binaries = await ensureTemporalServerBinaries({ log });
  await prepareDatabases(binaries, options.postgres, log);
  const configDir = path.join(dataDir, 'config');
  const uiRoot = path.join(dataDir, 'ui');
  const logDir = path.join(dataDir, 'logs');
  for (const dir of [configDir, path.join(uiRoot, 'config'), logDir]) mkdirSync(dir, { recursive: true });
  // It holds the Postgres password: readable by its owner only (chmod too: `mode` only applies to a new file).
  const configFile = path.join(configDir, 'cluster.yaml');
  writeFileSync(configFile, JSON.stringify(serverConfig(options.postgres, ports), null, 2), { mode: 0o600 });
  chmodSync(configFile, 0o600);
  writeFileSync(path.join(configDir, 'dynamicconfig.yaml'), JSON.stringify(dynamicConfigFile(), null, 2));
  writeFileSync(path.join(uiRoot, 'config', 'cluster.yaml'), JSON.stringify(uiConfig(ports, options.namespace), null, 2));

  const supervised = (name: string, command: string, args: string[]) =>
    new SupervisedProcess(name, {
      command,
      args,
      cwd: dataDir,
      env: process.env,
      logFile: path.join(logDir, `${name}.log`),
      onUnexpectedExit: options.onUnexpectedExit,
    });
  const services = Object.fromEntries(
    TEMPORAL_SERVICES.map((service) => [
      service,
      supervised(`temporal-${service}`, binaries.server, [
        '--root',
        dataDir,
        '--config',
        'config',
        '--env',
        'cluster',
        '--allow-no-auth',
        'start',
        '--service',
        service,
      ]),
    ]),
  ) as Record<TemporalService, SupervisedProcess>;
  const ui = supervised('temporal-ui', binaries.uiServer, ['--root', uiRoot, '--config', 'config', '--env', 'cluster', 'start']);
  const stop = async () => {
    await ui.stop('SIGTERM');
    // The frontend first, so no new requests reach history and matching while they stop.
    for (const service of TEMPORAL_SERVICES) await services[service].stop('SIGTERM', 15_000);
  };
  try {
    log(`Starting the Temporal services (${TEMPORAL_SERVICES.join(', ')}); logs in ${logDir}`);
    for (const service of TEMPORAL_SERVICES) services[service].start();
    const address = `127.0.0.1:${ports.frontend.grpc}`;
    await registerNamespace(address, options.namespace, log);
    ui.start();
    return { address, uiUrl: `http://127.0.0.1:${ports.ui}`, services, ui, logDir, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
