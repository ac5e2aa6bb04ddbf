import {
  checkoutCompensations,
  checkoutDuration,
  checkouts,
  commands,
  commandsRefusedForLoad,
  eventStoreAppendDuration,
  eventStoreAppends,
  projectionBatchEvents,
  projectionDeadLettersParked,
  projectorLeader,
} from './registry';

/*
 * What the layers call to record what they did. Each takes only bounded values (a command or
 * stream type, a code) and reads the code of a failure itself, so no caller can pass an id.
 */

const CODE = /^[A-Z][A-Z0-9_]{0,63}$/;

/** The stable problem code a failure carries (ApiError, DomainError), or ERROR for a technical failure that names none. */
export function failureCode(err: unknown): string {
  const code: unknown = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && CODE.test(code) ? code : 'ERROR';
}

/** Runs a command and counts it as accepted, or rejected with its failure's code. */
export async function countedCommand<T>(command: string, decide: () => Promise<T>): Promise<T> {
  try {
    const answer = await decide();
    commands.inc({ command, outcome: 'accepted', code: '' });
    return answer;
  } catch (err) {
    commands.inc({ command, outcome: 'rejected', code: failureCode(err) });
    throw err;
  }
}

export function countRefusedForLoad(command: string): void {
  commandsRefusedForLoad.inc({ command });
}

/** Times one append and counts it as appended, conflict (`isConflict`: WrongExpectedVersion) or failed. */
export async function timedAppend<T>(streamType: string, isConflict: (err: unknown) => boolean, append: () => Promise<T>): Promise<T> {
  const stopTimer = eventStoreAppendDuration.startTimer({ stream_type: streamType });
  try {
    const result = await append();
    eventStoreAppends.inc({ stream_type: streamType, outcome: 'appended' });
    return result;
  } catch (err) {
    eventStoreAppends.inc({ stream_type: streamType, outcome: isConflict(err) ? 'conflict' : 'failed' });
    throw err;
  } finally {
    stopTimer();
  }
}

export function observeProjectorBatch(projection: string, events: number): void {
  projectionBatchEvents.observe({ projection }, events);
}

export function observeProjectorLeader(projection: string, leading: boolean): void {
  projectorLeader.set({ projection }, leading ? 1 : 0);
}

export function countParked(projection: string, events: number): void {
  projectionDeadLettersParked.inc({ projection }, events);
}

/**
 * A checkout saga's report as stored on its order's stream; its duration when the actor stored
 * when the checkout began (metadata `checkoutStartedAt`, the workflow clock at placing).
 */
export function countCheckoutOutcome(event: { type: string; data: unknown; occurredAt: string; metadata: Record<string, unknown> }): void {
  if (event.type !== 'CheckoutSucceeded' && event.type !== 'CheckoutFailed') return;
  const outcome = event.type === 'CheckoutSucceeded' ? 'succeeded' : 'failed';
  const startedAt = event.metadata.checkoutStartedAt;
  if (typeof startedAt === 'string') checkoutDuration.observe({ outcome }, Math.max(Date.parse(event.occurredAt) - Date.parse(startedAt), 0) / 1000);
  if (outcome === 'succeeded') return void checkouts.inc({ outcome, code: '' });
  checkouts.inc({ outcome, code: failureCode(event.data) });
  const compensations: unknown = (event.data as { compensations?: unknown } | null)?.compensations;
  if (Array.isArray(compensations) && compensations.length > 0) checkoutCompensations.inc(compensations.length);
}
