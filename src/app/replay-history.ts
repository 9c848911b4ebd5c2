/**
 * Replay: runs recorded workflow histories against workflow code, with no server and no activities, and says
 * whether the code still produces the same commands. This is the safety net for every workflow change (CI replays
 * the committed fixtures) and a debugging tool (replay a production run locally, with breakpoints). Histories come
 * from a file exported by `temporal workflow show --output json` (or `historyToJSON`) or from the server by id.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { Client } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { historyFromJSON, type History } from '@temporalio/common/lib/proto-utils.js';
import {
  DefaultLogger,
  Runtime,
  Worker,
  bundleWorkflowCode,
  type WorkflowBundle,
  type WorkflowBundleOption,
} from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { encryptedPayloadKeyIds } from './codec/history-payloads.ts';
import { bundleWorkflows } from './ingest-worker.ts';
import { connectClient, type TemporalTarget } from './temporal/connection.ts';

/** One history to replay, with what names it in a verdict. */
export interface HistoryToReplay {
  /** For people: the file name or the workflow id. */
  readonly label: string;
  readonly history: History;
  /** Given to the workflow as `workflowInfo().workflowId` (histories do not contain it). */
  readonly workflowId: string;
}

/** The outcome of replaying one history. */
export type ReplayVerdict =
  | { readonly kind: 'ok'; readonly label: string; readonly workflowType: string; readonly events: number }
  | {
      readonly kind: 'non-deterministic' | 'failed';
      readonly label: string;
      readonly workflowType: string;
      readonly events: number;
      /** Why, in the SDK's words (for non-determinism: which command the code produced and what the history had). */
      readonly reason: string;
    };

export interface ReplayOptions {
  /** The workflow code to replay against: a bundle (tests), or the current code, bundled now (the default). */
  readonly workflowBundle?: WorkflowBundleOption;
  /**
   * The payload codecs of the worker that recorded the histories (`codecDataConverter(settings.codec)`): an
   * encrypted history replays only with its keys.
   */
  readonly dataConverter?: DataConverter | undefined;
}

/** Reads a history JSON file (as `temporal workflow show --output json` writes it). */
export async function readHistoryFile(path: string): Promise<HistoryToReplay> {
  const history = historyFromJSON(JSON.parse(await readFile(path, 'utf8')) as unknown);
  return { label: basename(path), history, workflowId: workflowIdFromFile(path) };
}

/** Fetches the history of a workflow's latest run from the server (TLS and credentials as `server` says). */
export async function fetchWorkflowHistory(
  workflowId: string,
  server: TemporalTarget,
): Promise<HistoryToReplay> {
  const connection = await connectClient(server);
  try {
    const client = new Client({ connection, namespace: server.namespace });
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    return { label: workflowId, history, workflowId };
  } finally {
    await connection.close();
  }
}

/**
 * Replays every history (one replay worker, one at a time) and returns one verdict each, in order. Never throws for
 * a bad history: a non-deterministic or failing replay is a verdict.
 */
export async function replayHistories(
  histories: readonly HistoryToReplay[],
  options: ReplayOptions = {},
): Promise<ReplayVerdict[]> {
  // The codecs decode the history; failures stay in clear: a replay's failure is a reason for a person, not history.
  const dataConverter =
    options.dataConverter === undefined
      ? undefined
      : { payloadCodecs: options.dataConverter.payloadCodecs ?? [] };
  const workflowBundle = options.workflowBundle ?? (await bundleWorkflows());
  // Without codecs an encrypted history cannot replay: say so, rather than the SDK's "unknown encoding".
  const refusals = await Promise.all(
    histories.map(async (item) => {
      const keyIds = dataConverter === undefined ? await encryptedPayloadKeyIds(item.history) : [];
      if (keyIds.length === 0) return undefined;
      const named = keyIds.map((id) => `"${id}"`).join(', ');
      return `its payloads are encrypted (key id${keyIds.length === 1 ? '' : 's'} ${named}): replay it with the keys of INGEST_CODEC_KEYS`;
    }),
  );
  const replayable = histories.filter((_, i) => refusals[i] === undefined);
  const results = Worker.runReplayHistories(
    {
      workflowBundle,
      replayName: 'durable-ingest-replay',
      ...(dataConverter === undefined ? {} : { dataConverter }),
    },
    replayable.map(({ history, workflowId }) => ({ history, workflowId })),
  );
  const replayed: ReplayVerdict[] = [];
  for await (const result of results) {
    const item = replayable[replayed.length];
    if (!item) break;
    const facts = factsOf(item);
    if (!result.error) replayed.push({ kind: 'ok', ...facts });
    else
      replayed.push({
        kind: result.error instanceof DeterminismViolationError ? 'non-deterministic' : 'failed',
        ...facts,
        reason: readableReason(result.error.message),
      });
  }
  // In the order given: the refused ones where they were, the replayed ones in between.
  let next = 0;
  return histories.map((item, i): ReplayVerdict => {
    const refusal = refusals[i];
    if (refusal !== undefined) return { kind: 'failed', ...factsOf(item), reason: refusal };
    return replayed[next++] ?? { kind: 'failed', ...factsOf(item), reason: 'the replay produced no result' };
  });
}

/** One or more lines for a person. */
export function formatVerdict(verdict: ReplayVerdict): string {
  const what = `${verdict.label} (${verdict.workflowType}, ${verdict.events} events)`;
  switch (verdict.kind) {
    case 'ok':
      return `ok: ${what} replays deterministically against this workflow code`;
    case 'non-deterministic':
      return (
        `NON-DETERMINISTIC: ${what}: this workflow code does not produce the commands the history ` +
        `recorded — shipping it would break running workflows like this one (guard the change with patched()).\n` +
        `  reason: ${verdict.reason}`
      );
    case 'failed':
      return `REPLAY FAILED: ${what}\n  reason: ${verdict.reason}`;
  }
}

/**
 * Installs a Temporal runtime for replay (once per process, before any replay): the SDK's own logs at ERROR only,
 * since every non-determinism is also reported as a verdict — otherwise each one is logged twice, as a failed task.
 */
export function installReplayRuntime(): void {
  Runtime.install({
    shutdownSignals: [],
    logger: new DefaultLogger('ERROR'),
    telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' }, console: {} } },
  });
}

/** Bundles a workflows module (the current code, a candidate change, a test variant) without webpack's chatter. */
export async function bundleWorkflowsFrom(workflowsPath: string): Promise<WorkflowBundle> {
  const { code } = await bundleWorkflowCode({ workflowsPath, logger: quietLogger });
  return { code };
}

/**
 * The SDK wraps the reason in a long Rust debug string; the message inside it is the part a person needs, e.g.
 * `[TMPRL1100] Nondeterminism error: Timer machine does not handle this event: HistoryEvent(id: 5,
 * UpsertWorkflowSearchAttributes)` — the code started a timer where the history, at event 5, upserted search
 * attributes.
 */
function readableReason(message: string): string {
  const inner = /message: "((?:[^"\\]|\\.)*)"/.exec(message)?.[1];
  return inner ?? message;
}

/** The workflow type recorded in the history's first event. */
export function workflowTypeOf(history: History): string {
  return history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? 'unknown';
}

function eventCount(item: HistoryToReplay): number {
  return item.history.events?.length ?? 0;
}

function factsOf(item: HistoryToReplay): { label: string; workflowType: string; events: number } {
  return { label: item.label, workflowType: workflowTypeOf(item.history), events: eventCount(item) };
}

/**
 * Fixture files are named after their workflow id with `/` as `__` (`fixture__communications__clean.json`);
 * any other file replays as `replay-<file name>`.
 */
function workflowIdFromFile(path: string): string {
  const name = basename(path).replace(/\.json$/i, '');
  return name.includes('__') ? name.replaceAll('__', '/') : `replay-${name}`;
}

const quietLogger = {
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: (message: string) => console.error(message),
  error: (message: string) => console.error(message),
  log: () => {},
};
