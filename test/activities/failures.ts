import { ApplicationFailure } from '@temporalio/activity';

/** The refusal an activity call ended with; fails the test when it resolved. */
export async function refusalOf(call: Promise<unknown>): Promise<ApplicationFailure> {
  const outcome = await call.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (outcome === undefined) throw new Error('Expected the activity to be refused, but it succeeded');
  expect(outcome).toBeInstanceOf(ApplicationFailure);
  return outcome as ApplicationFailure;
}

/** Asserts a non-retryable ApplicationFailure of this type (the stable code). */
export async function expectRefused(call: Promise<unknown>, code: string): Promise<void> {
  const failure = await refusalOf(call);
  expect({ type: failure.type, nonRetryable: failure.nonRetryable }).toEqual({ type: code, nonRetryable: true });
}
