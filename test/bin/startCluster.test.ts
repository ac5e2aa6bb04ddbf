/**
 * `npm run start:cluster`, run as a user runs it: a Temporal cluster on embedded Postgres (four
 * server processes and the Web UI), two workers and two API processes. Commands for one order
 * go through both APIs; a worker is SIGKILLed and the other carries the next checkout; Ctrl-C
 * stops every process it started; started again, the orders are still there and take commands.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { signToken, type Principal } from '../../src/auth/tokens';
import { apiClient } from '../../src/client';
import { freePort } from '../../src/devstack/freePort';
import { freeClusterPorts } from '../../src/devstack/temporalCluster';
import { throwawayDataDir } from '../../src/devstack/throwawayDataDir';
import { sampleAddress } from '../support/orders';

jest.setTimeout(600_000);

const ROOT = path.join(__dirname, '..', '..');
const secret = randomBytes(32).toString('base64url');
const bearer = async (principal: Principal) => ({ authorization: `Bearer ${await signToken(secret, principal)}` });
let admin: Record<string, string>;
let alice: Record<string, string>;

function processesUsing(dataDir: string): string[] {
  return execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes(dataDir) && !line.includes('ps -eo'));
}

interface RunningCluster {
  child: ChildProcess;
  apis: string[];
  workerPids: number[];
}

async function startCluster(env: NodeJS.ProcessEnv): Promise<RunningCluster> {
  // Its own process group, like a terminal's foreground job, so Ctrl-C reaches all of it.
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/bin/startCluster.ts'], { cwd: ROOT, env, detached: true });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready in 5 minutes:\n${output}`)), 300_000);
    child.stdout.on('data', () => /Press Ctrl-C to stop/.test(output) && (clearTimeout(timer), resolve()));
    child.on('exit', (code) => reject(new Error(`start:cluster exited with ${code}:\n${output}`)));
  });
  const apis = [...output.matchAll(/API \d:\s+(http:\/\/\S+)/g)].map((m) => m[1]!);
  const workerPids = /Workers:\s+\d+, pids (.*)/.exec(output)![1]!.split(', ').map(Number);
  return { child, apis, workerPids };
}

async function stopCluster(cluster: RunningCluster): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => cluster.child.once('exit', resolve));
  process.kill(-cluster.child.pid!, 'SIGINT');
  return exited;
}

describe('npm run start:cluster', () => {
  const dataDir = throwawayDataDir('cluster');
  let env: NodeJS.ProcessEnv;
  let cluster: RunningCluster;

  beforeAll(async () => {
    [admin, alice] = await Promise.all([bearer({ sub: 'ops', role: 'admin' }), bearer({ sub: 'alice', role: 'customer' })]);
    const ports = await freeClusterPorts();
    env = {
      ...process.env,
      DATA_DIR: dataDir,
      AUTH_SECRET: secret,
      PORT: String(await freePort()),
      TEMPORAL_PORT: String(ports.frontend.grpc),
      TEMPORAL_UI_PORT: String(ports.ui),
      EMBEDDED_PG_PORT: String(await freePort()),
      TASK_QUEUE: 'orders-cluster',
      LOG_LEVEL: 'warn',
    };
    // The cluster starts its own Postgres and Temporal, not the test run's.
    delete env.DATABASE_URL;
    delete env.TEMPORAL_ADDRESS;
    cluster = await startCluster(env);
  });

  afterAll(async () => {
    if (cluster?.child.exitCode === null) await stopCluster(cluster);
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Buys one mug; the commands alternate between the two APIs and the checkout waits for its outcome. */
  async function buyOneMug(key: string): Promise<{ orderId: string; status: unknown }> {
    const [api1, api2] = cluster.apis as [string, string];
    const product = await apiClient(api1, { headers: admin }).POST('/products', { body: { name: `Mug ${key}`, priceCents: 1250 } });
    expect(product.response.status).toBe(201);
    const productId = product.data!.productId;
    const restocked = await apiClient(api2, { headers: admin }).POST('/products/{productId}/stock', { params: { path: { productId } }, body: { quantity: 5 } });
    expect(restocked.response.status).toBe(200);
    const deposited = await apiClient(api1, { headers: alice }).POST('/accounts/{customerId}/deposits', {
      params: { path: { customerId: 'alice' } },
      body: { amountCents: 1250 },
    });
    expect(deposited.response.status).toBeLessThan(300);
    const created = await apiClient(api2, { headers: alice }).POST('/orders', {
      params: { header: { 'Idempotency-Key': key } },
      body: { shippingAddress: sampleAddress },
    });
    expect(created.response.status).toBe(201);
    const orderId = created.data!.orderId;
    const order = { path: { orderId } };
    const added = await apiClient(api1, { headers: alice }).POST('/orders/{orderId}/items', { params: order, body: { productId, quantity: 1 } });
    expect(added.response.status).toBe(200);
    const checkout = await apiClient(api2, { headers: alice }).POST('/orders/{orderId}/checkout', { params: { ...order, query: { wait: 'true' } } });
    return { orderId, status: checkout.data?.status };
  }

  test('two API processes serve one order, which checks out', async () => {
    expect(cluster.apis).toHaveLength(2);
    expect(await buyOneMug('cluster-1')).toMatchObject({ status: 'CONFIRMED' });
  });

  test('with one of the two workers SIGKILLed, the other carries the next checkout', async () => {
    expect(cluster.workerPids).toHaveLength(2);
    process.kill(cluster.workerPids[0]!, 'SIGKILL');
    expect(await buyOneMug('cluster-2')).toMatchObject({ status: 'CONFIRMED' });
  });

  test('Ctrl-C stops everything it started; started again, the orders are there and take commands', async () => {
    const { orderId } = await buyOneMug('cluster-3');
    expect(await stopCluster(cluster)).toBe(0);
    expect(processesUsing(dataDir)).toEqual([]);
    cluster = await startCluster(env);
    const [api1] = cluster.apis as [string];
    const order = { path: { orderId } };
    expect((await apiClient(api1, { headers: alice }).GET('/orders/{orderId}', { params: order })).data).toMatchObject({ orderId, status: 'CONFIRMED' });
    expect((await apiClient(api1, { headers: admin }).POST('/orders/{orderId}/ship', { params: order })).response.status).toBe(200);
  });
});
