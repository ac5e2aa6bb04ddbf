import {
  ActivityFailure,
  ApplicationFailure,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  TemporalFailure,
  type ActivityOptions,
} from '@temporalio/workflow';

/**
 * The local part of a local-first step: three attempts of at most 5 s each, retried in place while
 * the backoff stays under a second (so the workflow task never sleeps long). The invariants derive
 * a checkout's deadline from these numbers (src/invariants/checkouts.ts).
 */
export const LOCAL_ATTEMPTS = { startToCloseMs: 5_000, maximumAttempts: 3, localRetryThresholdMs: 1_000 } as const;

/** Runs one step on the activities `A`, local first or regular, and answers what the step answers. */
export type StepRunner<A> = <R>(step: (activities: A) => Promise<R>) => Promise<R>;

/**
 * Short Postgres steps of a workflow, run as local activities (by this worker, inside the workflow
 * task that reached them: no round trips through the server) once `patchId` is in force. A blip is
 * retried in place; a longer outage falls back to the regular activity with `options`, whose
 * retries the server keeps without adding to the history the way local retries with timers would.
 * The fallback is the same call with the same input, so idempotency keys and event ids carry over.
 *
 * A step replayed from before `patchId` is the regular activity, scheduled through the very call
 * it was before (no await more), so old histories replay.
 */
export function localFirst<A extends object>(patchId: string, options: ActivityOptions): StepRunner<A> {
  // The proxies call exactly A's functions; TypeScript cannot see through their mapped types for a generic A.
  const regular = proxyActivities<A>(options) as unknown as A;
  const local = proxyLocalActivities<A>({
    startToCloseTimeout: LOCAL_ATTEMPTS.startToCloseMs,
    retry: { ...options.retry, maximumAttempts: LOCAL_ATTEMPTS.maximumAttempts },
    localRetryThreshold: LOCAL_ATTEMPTS.localRetryThresholdMs,
  }) as unknown as A;
  const unfixable = options.retry?.nonRetryableErrorTypes ?? [];
  return (step) => {
    if (!patched(patchId)) return step(regular);
    return step(local).catch((err: unknown) => {
      if (!(err instanceof TemporalFailure) || isCancellation(err) || neverSucceeds(err, unfixable)) throw err;
      return step(regular);
    });
  };
}

/**
 * A failure retrying cannot fix (a refusal, a stream conflict): the regular activity would fail the
 * same way. A local activity's failure arrives unwrapped, a regular one's inside an ActivityFailure.
 */
function neverSucceeds(err: TemporalFailure, unfixable: readonly string[]): boolean {
  const failure = err instanceof ActivityFailure ? err.cause : err;
  return failure instanceof ApplicationFailure && (failure.nonRetryable || unfixable.includes(failure.type ?? ''));
}
