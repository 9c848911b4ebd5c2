/**
 * A run that a worker started without the messaging source's credential must fail from its activity, naming the
 * variable: how the worker-process tests prove that the worker they started ran a workflow and its activity.
 */
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { taskQueue } from '../../src/shared/names.ts';

/** Runs `ingestSource` for `messaging` and returns the cause of its failure (it must fail). */
export async function failureOfRunWithoutKey(client: Client, workflowId: string): Promise<Error | undefined> {
  const failure: unknown = await client.workflow
    .execute('ingestSource', {
      taskQueue,
      workflowId,
      args: [{ source: 'messaging' }],
      workflowExecutionTimeout: '60 seconds',
    })
    .then(
      () => undefined,
      (error: unknown) => error,
    );
  if (!(failure instanceof WorkflowFailedError)) {
    throw new Error(`the run of messaging without its key did not fail as a workflow: ${String(failure)}`);
  }
  return failure.cause;
}
