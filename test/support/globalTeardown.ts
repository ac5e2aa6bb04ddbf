import type { LocalWorker } from '../../src/devstack/localWorker';

export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __testRun?: LocalWorker }).__testRun?.stop();
}
