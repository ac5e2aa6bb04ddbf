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
import { freePort } from '../../src/devstack/freePort';
import { freeClusterPorts } from '../../src/devstack/temporalCluster';
import { throwawayDataDir } from '../../src/devstack/throwawayDataDir';
import { rawHttp } from '../support/harness';
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
    const product = await rawHttp(api1, 'POST', '/products', { headers: admin, body: { name: `Mug ${key}`, priceCents: 1250 } });
    expect(product.status).toBe(201);
    const productId = product.body.productId as string;
    expect((await rawHttp(api2, 'POST', `/products/${productId}/stock`, { headers: admin, body: { quantity: 5 } })).status).toBe(200);
    expect((await rawHttp(api1, 'POST', '/accounts/alice/deposits', { headers: alice, body: { amountCents: 1250 } })).status).toBeLessThan(300);
    const created = await rawHttp(api2, 'POST', '/orders', { headers: { ...alice, 'idempotency-key': key }, body: { shippingAddress: sampleAddress } });
    expect(created.status).toBe(201);
    const orderId = created.body.orderId as string;
    expect((await rawHttp(api1, 'POST', `/orders/${orderId}/items`, { headers: alice, body: { productId, quantity: 1 } })).status).toBe(200);
    const checkout = await rawHttp(api2, 'POST', `/orders/${orderId}/checkout?wait=true`, { headers: alice });
    return { orderId, status: checkout.body.status };
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
    expect((await rawHttp(api1, 'GET', `/orders/${orderId}`, { headers: alice })).body).toMatchObject({ orderId, status: 'CONFIRMED' });
    expect((await rawHttp(api1, 'POST', `/orders/${orderId}/ship`, { headers: admin })).status).toBe(200);
  });
});
