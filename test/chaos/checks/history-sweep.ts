/**
 * The workflow histories of a case, searched for secrets: every run of every workflow whose id starts with the
 * case's prefix (the two `ingestSource` runs, their child workflows, each run of a chain that continued as new),
 * fetched from the server as the Web UI or `temporal workflow show` would. Every string and every byte field is
 * searched — payloads as stored, and again decoded with the payload codec when one is in use, so an encrypted
 * payload is read as the person holding the key would read it.
 */
import type { Client } from '@temporalio/client';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { findSecrets, type SecretForm } from './secret-forms.ts';

export interface HistorySweep {
  /** Where a secret was found: `<workflow id> (<run id>): <secret> (<form>)`. */
  readonly found: readonly string[];
  readonly histories: number;
  readonly payloads: number;
}

/**
 * Sweeps the histories of the workflows whose id starts with `prefix`, plus `workflowIds` themselves (in case the
 * server's list is behind).
 */
export async function sweepHistories(
  client: Client,
  prefix: string,
  workflowIds: readonly string[],
  forms: readonly SecretForm[],
  codec?: PayloadCodec,
): Promise<HistorySweep> {
  const runs = new Map<string, { workflowId: string; runId: string | undefined }>();
  for await (const execution of client.workflow.list()) {
    if (execution.workflowId.startsWith(prefix))
      runs.set(`${execution.workflowId}/${execution.runId}`, execution);
  }
  const listed = new Set([...runs.values()].map((run) => run.workflowId));
  for (const workflowId of workflowIds) {
    if (!listed.has(workflowId)) runs.set(workflowId, { workflowId, runId: undefined });
  }
  const found: string[] = [];
  let payloads = 0;
  for (const { workflowId, runId } of runs.values()) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const texts: string[] = [];
    const stored: Payload[] = [];
    collect(history, texts, stored);
    payloads += stored.length;
    if (codec !== undefined) {
      const decoded = await codec.decode(stored);
      collect(decoded, texts, []);
    }
    for (const secret of new Set(texts.flatMap((text) => findSecrets(text, forms)))) {
      found.push(`${workflowId} (${runId ?? 'latest run'}): ${secret}`);
    }
  }
  return { found, histories: runs.size, payloads };
}

/** Every string and byte field under `value` (bytes as UTF-8), and the payloads met on the way. */
function collect(value: unknown, texts: string[], payloads: Payload[]): void {
  if (typeof value === 'string') {
    texts.push(value);
  } else if (ArrayBuffer.isView(value)) {
    texts.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8'));
  } else if (Array.isArray(value)) {
    for (const item of value) collect(item, texts, payloads);
  } else if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    if (ArrayBuffer.isView(record['data']) && typeof record['metadata'] === 'object') payloads.push(record);
    for (const item of Object.values(record)) collect(item, texts, payloads);
  }
}
