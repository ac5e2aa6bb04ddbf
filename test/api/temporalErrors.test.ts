import { ServiceError, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { ApplicationFailure, NamespaceNotFoundError, WorkflowNotFoundError } from '@temporalio/common';
import { apiErrorFromTemporal } from '../../src/api/temporalErrors';

/** What the Temporal client throws, mapped to the API's statuses and codes. */
describe('apiErrorFromTemporal', () => {
  const grpcError = (code: number) => new ServiceError('refused', { cause: Object.assign(new Error('grpc'), { code }) });

  test.each([
    ['conflict', 409],
    ['rule', 422],
    ['not_found', 404],
    ['precondition', 412],
    ['invalid', 400],
  ] as const)('a rejected command of kind %s is %i with its code', (kind, status) => {
    const failure = ApplicationFailure.create({
      type: 'SOME_CODE',
      message: 'why',
      details: [{ status: 'rejected', commandId: 'c', code: 'SOME_CODE', message: 'why', kind }],
    });
    const mapped = apiErrorFromTemporal(new WorkflowUpdateFailedError('update failed', failure));
    expect(mapped).toMatchObject({ status, code: 'SOME_CODE', message: 'why' });
  });

  test('an update the worker has no handler for (an older worker during a deploy) is 503, not a 409', () => {
    const failure = ApplicationFailure.create({ type: 'Error', message: 'No registered handler for update: SomeNewCommand' });
    expect(apiErrorFromTemporal(new WorkflowUpdateFailedError('update failed', failure))).toMatchObject({
      status: 503,
      code: 'ORDER_UNAVAILABLE',
      headers: { 'Retry-After': '5' },
    });
  });

  test('a validator rejection (no outcome details) is a 400', () => {
    const failure = ApplicationFailure.create({ type: 'INVALID_COMMAND', message: 'quantity: expected number' });
    expect(apiErrorFromTemporal(new WorkflowUpdateFailedError('update failed', failure))).toMatchObject({ status: 400, code: 'INVALID_COMMAND' });
  });

  test('RESOURCE_EXHAUSTED (too many in-flight updates) is 429 with Retry-After', () => {
    expect(apiErrorFromTemporal(grpcError(8))).toMatchObject({ status: 429, code: 'TOO_MANY_REQUESTS', headers: { 'Retry-After': '1' } });
  });

  test('UNAVAILABLE is 503 with Retry-After', () => {
    expect(apiErrorFromTemporal(grpcError(14))).toMatchObject({ status: 503, headers: { 'Retry-After': '2' } });
  });

  test('the namespace NOT_FOUND Temporal answers while its database is down is 503 TEMPORAL_UNAVAILABLE; another NOT_FOUND is not mapped', () => {
    const namespaceGone = Object.assign(new Error('Namespace default is not found.'), { code: 5 });
    expect(apiErrorFromTemporal(namespaceGone)).toMatchObject({ status: 503, code: 'TEMPORAL_UNAVAILABLE', headers: { 'Retry-After': '2' } });
    expect(apiErrorFromTemporal(new NamespaceNotFoundError('default'))).toMatchObject({ status: 503, code: 'TEMPORAL_UNAVAILABLE' });
    expect(apiErrorFromTemporal(grpcError(5))).toBeUndefined();
  });

  test('a WorkflowNotFoundError that is really the namespace "not found" is 503 TEMPORAL_UNAVAILABLE, not 404: the order may be running', () => {
    const namespaceGone = new WorkflowNotFoundError('Namespace default is not found.', 'order-o-1', undefined);
    expect(apiErrorFromTemporal(namespaceGone)).toMatchObject({ status: 503, code: 'TEMPORAL_UNAVAILABLE', headers: { 'Retry-After': '2' } });
    expect(apiErrorFromTemporal(new WorkflowNotFoundError('workflow not found for ID: order-o-1', 'order-o-1', undefined))).toMatchObject({
      status: 404,
      code: 'ORDER_NOT_FOUND',
    });
  });

  test('a call cut short by its deadline (DEADLINE_EXCEEDED, CANCELLED) is 503 COMMAND_TIMEOUT', () => {
    for (const code of [1, 4])
      expect(apiErrorFromTemporal(grpcError(code))).toMatchObject({ status: 503, code: 'COMMAND_TIMEOUT', headers: { 'Retry-After': '1' } });
  });

  test('an order whose workflow task is being retried is 503 ORDER_RECOVERING; other FAILED_PRECONDITIONs are not mapped', () => {
    const failedTask = new ServiceError('update failed', {
      cause: Object.assign(new Error('9 FAILED_PRECONDITION: Unable to perform workflow execution update due to Workflow Task in failed state.'), { code: 9 }),
    });
    expect(apiErrorFromTemporal(failedTask)).toMatchObject({ status: 503, code: 'ORDER_RECOVERING', headers: { 'Retry-After': '2' } });
    expect(apiErrorFromTemporal(grpcError(9))).toBeUndefined();
  });

  test('an update that timed out is 503, telling the client to retry with the same key', () => {
    expect(apiErrorFromTemporal(new WorkflowUpdateRPCTimeoutOrCancelledError('timeout'))).toMatchObject({ status: 503, code: 'COMMAND_TIMEOUT' });
  });

  test('an unknown workflow is 404; anything unrecognised is left for the 500 handler', () => {
    expect(apiErrorFromTemporal(new WorkflowNotFoundError('nope', 'order-x', undefined))).toMatchObject({ status: 404 });
    expect(apiErrorFromTemporal(new Error('boom'))).toBeUndefined();
  });
});
