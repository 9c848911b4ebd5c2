/**
 * A Temporal namespace of a test file's own, with the project's search attributes: for files whose workers poll the
 * fixed task queue `ingest` (the product's worker process does), so that no other file's worker on that queue can
 * take their tasks, nor theirs the other files'.
 */
import type { ConnectionLike } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import { searchAttributeTypes } from '../../src/shared/names.ts';
import { until } from './until.ts';

/** Registers `namespace` with the search attributes and waits until the server lists them. */
export async function registerNamespace(connection: ConnectionLike, namespace: string): Promise<void> {
  const { workflowService, operatorService } = connection;
  await workflowService.registerNamespace(
    // fromObject: the retention's seconds are a Long in the request type.
    proto.api.workflowservice.v1.RegisterNamespaceRequest.fromObject({
      namespace,
      workflowExecutionRetentionPeriod: { seconds: 86_400 },
    }),
  );
  await operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(
      searchAttributeTypes.map(([name]) => [
        name,
        proto.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
      ]),
    ),
  });
  await until('the namespace with its search attributes', async () => {
    const listed = await operatorService.listSearchAttributes({ namespace }).catch(() => undefined);
    const known = Object.keys(listed?.customAttributes ?? {});
    return searchAttributeTypes.every(([name]) => known.includes(name)) ? true : undefined;
  });
}
