import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { startLocalCluster } from '../src/devstack/localCluster';
import type { UnexpectedExit } from '../src/devstack/supervisedProcess';
import { freePort } from '../src/devstack/freePort';
import { freeClusterPorts } from '../src/devstack/temporalCluster';
import { throwawayDataDir } from '../src/devstack/throwawayDataDir';
import { CHAOS_NAMESPACE, CHAOS_TASK_QUEUE, ChaosStack } from './stack';

const WORKERS = 2;
const APIS = 2;

/**
 * The production shape (`npm run start:cluster`'s) on free ports in a throwaway folder: embedded
 * Postgres holding the app's database and Temporal's, the Temporal server on it as four processes
 * (frontend, history, matching, worker) and the Web UI, two workers and two API processes.
 */
export async function startClusterChaosStack(log: (line: string) => void): Promise<ChaosStack> {
  const dataDir = throwawayDataDir('chaos-cluster');
  const authSecret = randomBytes(48).toString('base64');
  let cluster: Awaited<ReturnType<typeof startLocalCluster>> | undefined;
  const exitsWhileStarting: UnexpectedExit[] = [];
  try {
    cluster = await startLocalCluster({
      dataDir,
      temporalPorts: await freeClusterPorts(),
      apiPorts: await Promise.all(Array.from({ length: APIS }, () => freePort())),
      workerCount: WORKERS,
      namespace: CHAOS_NAMESPACE,
      taskQueue: CHAOS_TASK_QUEUE,
      authSecret,
      appEnv: { LOG_LEVEL: 'warn' },
      callerHandlesSignals: true,
      log,
      onUnexpectedExit: (exit) => cluster === undefined && exitsWhileStarting.push(exit),
    });
    const { temporal, database } = cluster;
    if (!database) throw new Error('The cluster chaos run needs its own embedded Postgres');
    return await ChaosStack.connect(
      {
        shape: `Temporal cluster on Postgres (${Object.keys(temporal.services).join(', ')}), ${WORKERS} workers, ${APIS} APIs`,
        dataDir,
        databaseUrl: cluster.databaseUrl,
        temporalAddress: temporal.address,
        apiUrls: cluster.apis.map((a) => a.url),
        apis: cluster.apis.map((a) => a.process),
        workers: cluster.workers,
        temporal: temporal.services,
        processes: [...Object.values(temporal.services), temporal.ui, ...cluster.workers, ...cluster.apis.map((a) => a.process)],
        postgres: database,
        authSecret,
        stopServices: cluster.stop,
      },
      log,
    );
  } catch (err) {
    // A service that keeps dying (a taken port, a bad config) is the likely cause: name it.
    if (exitsWhileStarting.length > 0)
      log(`Exited while starting: ${exitsWhileStarting.map((e) => `${e.name} (code ${e.code}, signal ${e.signal})`).join(', ')}`);
    await cluster?.stop();
    if (process.env.CHAOS_KEEP_DATA) log(`chaos data (with every process's log) kept in ${dataDir}`);
    else rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}
