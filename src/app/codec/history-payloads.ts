/**
 * What a recorded history says about its encryption, read without any key: the key ids its payloads are encrypted
 * with — in any event, not only the run's input: encryption turned on while a run was going encrypts only what it
 * wrote from then on — so that a replay without keys can say what it needs instead of failing on an unknown encoding.
 */
import type { History } from '@temporalio/common/lib/proto-utils.js';
import { walkGetWorkflowExecutionHistoryResponse } from '@temporalio/common/lib/internal-non-workflow/index.js';
import { payloadKeys } from './payload-key-ids.ts';

/** The key ids of the history's encrypted payloads, each once, sorted; empty when none is encrypted. */
export async function encryptedPayloadKeyIds(history: History): Promise<readonly string[]> {
  return (await payloadKeys({ history }, walkGetWorkflowExecutionHistoryResponse)).keyIds;
}
