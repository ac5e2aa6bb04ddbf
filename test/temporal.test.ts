import { Client } from '@temporalio/client';
import { NamespaceNotFoundError, WorkflowNotFoundError } from '@temporalio/common';
import { isWorkflowMissing } from '../src/temporal';
import { testClient, uniqueId } from './support/harness';

/** Whether a workflow is missing, told apart from Temporal being unable to say (its namespace "not found"). */
describe('isWorkflowMissing', () => {
  let client: Client;
  beforeAll(async () => {
    client = await testClient();
  });
  afterAll(() => client.connection.close());

  test('a workflow Temporal does not know is missing, whether a call says so by WorkflowNotFoundError or by a bare NOT_FOUND', async () => {
    const handle = client.workflow.getHandle(uniqueId('never-started'));
    const described = await handle.describe().catch((err: unknown) => err);
    expect(described).toBeInstanceOf(WorkflowNotFoundError);
    expect(isWorkflowMissing(described)).toBe(true);
    const history = await handle.fetchHistory().catch((err: unknown) => err);
    expect(history).not.toBeInstanceOf(WorkflowNotFoundError);
    expect(isWorkflowMissing(history)).toBe(true);
  });

  test('a namespace Temporal cannot find says nothing about the workflow, however the client reports it', async () => {
    const elsewhere = new Client({ connection: client.connection, namespace: uniqueId('no-such-namespace') });
    const described = await elsewhere.workflow
      .getHandle(uniqueId('order'))
      .describe()
      .catch((err: unknown) => err);
    expect(described).toBeInstanceOf(NamespaceNotFoundError);
    expect(isWorkflowMissing(described)).toBe(false);
    // While Temporal's own database is down its frontend answers NOT_FOUND "Namespace default is not
    // found." without the details above (the cluster chaos test met it on a create), and on a
    // describe, query or update the client turns a bare NOT_FOUND into a WorkflowNotFoundError.
    expect(isWorkflowMissing(new WorkflowNotFoundError('Namespace default is not found.', 'order-o-1', undefined))).toBe(false);
  });
});
