/** Bundles the workflows and sends the code to the parent over IPC: `bundleWorkflowsInChild` (src/worker.ts) forks it. */
import { bundleWorkflows } from '../worker';

bundleWorkflows().then(
  (code) => process.send!(code, () => process.exit(0)),
  (err: unknown) => {
    process.stderr.write(`bundling the workflows failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
