import { DeterminismViolationError, type WorkflowInterceptorsFactory } from '@temporalio/workflow';

/*
 * Bundled with the real workflows for a worker that strands orders on purpose: any signal makes
 * the order's workflow task fail with a nondeterminism error, on every retry (the signal is in the
 * history, so each replay meets it again). That is what the SDK ordering bug in
 * docs/reliability.md does to an order: RUNNING, taking no command, answering no query.
 */
export const interceptors: WorkflowInterceptorsFactory = () => ({
  inbound: [
    {
      async handleSignal() {
        throw new DeterminismViolationError('simulated stranding: Update machine does not handle this event');
      },
    },
  ],
});
