/**
 * Replay, the safety net: every committed history (recorded from real runs by `npm run record-fixtures`, never by a
 * test) replays against the current workflow code; a deliberately non-deterministic change fails replay with a
 * readable reason; the same change behind `patched()` replays; its `deprecatePatch()` clean-up does not replay runs
 * from before the patch; the same histories replay on a worker that encrypts (its codec passes plain payloads
 * through), and one encrypted from some event on is recognised as such; the workflow tracing interceptors (a traced
 * worker's bundle) change no command: every history replays with them too. No server: replay needs only the
 * histories and the code.
 */
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { WorkflowBundle } from '@temporalio/worker';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  bundleWorkflowsFrom,
  formatVerdict,
  installReplayRuntime,
  readHistoryFile,
  replayHistories,
  type HistoryToReplay,
} from '../../src/app/replay-history.ts';
import { bundleWorkflows } from '../../src/app/ingest-worker.ts';
import { bundleHasTracing } from '../../src/telemetry/worker-tracing.ts';
import { AesGcmCodec } from '../../src/app/codec/aes-gcm-codec.ts';
import { codecDataConverter } from '../../src/app/codec/data-converter.ts';
import { encryptedPayloadKeyIds } from '../../src/app/codec/history-payloads.ts';
import { parseCodecKeys } from '../../src/app/codec/keys.ts';

const historiesDir = fileURLToPath(new URL('./histories/', import.meta.url));
const variant = (name: string) => fileURLToPath(new URL(`./workflows/${name}.ts`, import.meta.url));

let histories: HistoryToReplay[];
/** The `ingestSource` histories: the ones the modified variants of `ingestSource` are replayed against. */
let ingestHistories: HistoryToReplay[];
const bundles = new Map<string, WorkflowBundle>();

beforeAll(async () => {
  installReplayRuntime();
  // Sub-folders hold histories from before a patch (`before-<patch>/`): the proof that old runs still replay.
  const files = (await readdir(historiesDir, { recursive: true }))
    .filter((file) => file.endsWith('.json'))
    .sort();
  histories = await Promise.all(files.map((file) => readHistoryFile(`${historiesDir}${file}`)));
  ingestHistories = histories.filter(
    (h) =>
      h.history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name === 'ingestSource',
  );
  // Bundled one after the other: webpack on 2 shared cores.
  // The current code as a traced worker bundles it (and `npm run bundle -- --tracing`): with the workflow tracing
  // interceptors, which only add to the code a worker without tracing runs — one bundle proves both replay.
  bundles.set('current', await bundleWorkflows(undefined, { tracing: true }));
  for (const name of ['pause-unguarded', 'pause-patched', 'pause-deprecated']) {
    bundles.set(name, await bundleWorkflowsFrom(variant(name)));
  }
});

const replayAgainst = (name: string, which: HistoryToReplay[] = ingestHistories) =>
  replayHistories(which, { workflowBundle: bundles.get(name)! });

describe('replay of the committed histories', () => {
  it('has a fixture for each recorded scenario', () => {
    expect(histories.map((h) => h.label)).toEqual(
      expect.arrayContaining([
        'fixture__communications__clean.json',
        'fixture__communications__partial.json',
        'fixture__communications__retried.json',
        'fixture__messaging__clean.json',
        'fixture__messaging__sms.json',
        'fixture__messaging__sms__messages.json',
        'fixture__resolve__continued__first.json',
        'fixture__resolve__continued__last.json',
      ]),
    );
    // The child workflow with its timer and its continue-as-new is among them.
    const events = (label: string) => histories.find((h) => h.label === label)?.history.events ?? [];
    expect(events('fixture__messaging__sms__messages.json').some((e) => e.timerStartedEventAttributes)).toBe(
      true,
    );
    expect(
      events('fixture__resolve__continued__first.json').at(-1)
        ?.workflowExecutionContinuedAsNewEventAttributes,
    ).toBeTruthy();
  });

  it('replays every history against the current workflow code (with the tracing interceptors)', async () => {
    expect(bundleHasTracing(bundles.get('current')!.code)).toBe(true);
    const verdicts = await replayAgainst('current', histories);
    expect(verdicts.map((v) => [v.label, v.kind])).toEqual(histories.map((h) => [h.label, 'ok']));
    for (const verdict of verdicts) {
      expect(formatVerdict(verdict)).toMatch(
        /^ok: fixture__\S+\.json \((ingestSource|resolveChildren), \d+ events\) replays/,
      );
    }
  });

  it('fails a non-deterministic change with a readable reason', async () => {
    const verdicts = await replayAgainst('pause-unguarded');
    expect(verdicts).toHaveLength(ingestHistories.length);
    for (const verdict of verdicts) {
      expect(verdict.kind, verdict.label).toBe('non-deterministic');
      // The reason names what the code did that the history does not have: a timer.
      expect(formatVerdict(verdict)).toMatch(
        /^NON-DETERMINISTIC: fixture__.*\n {2}reason: \[TMPRL1100\] Nondeterminism error: Timer machine does not handle this event: HistoryEvent\(id: 5, UpsertWorkflowSearchAttributes\)$/s,
      );
    }
  });

  it('replays the same change behind patched()', async () => {
    const verdicts = await replayAgainst('pause-patched');
    expect(verdicts.map((v) => [v.label, v.kind])).toEqual(ingestHistories.map((h) => [h.label, 'ok']));
  });

  it('does not replay runs from before the patch once it is deprecated (why the clean-up waits)', async () => {
    const verdicts = await replayAgainst('pause-deprecated');
    expect(verdicts.map((v) => v.kind)).toEqual(ingestHistories.map(() => 'non-deterministic'));
  });
});

describe('replay with payload encryption', () => {
  const keys = parseCodecKeys(`later:${randomBytes(32).toString('base64')}`, 'INGEST_CODEC_KEYS');

  it('replays the committed (unencrypted) histories with a codec data converter', async () => {
    const verdicts = await replayHistories(histories, {
      workflowBundle: bundles.get('current')!,
      dataConverter: codecDataConverter(keys),
    });
    expect(verdicts.map((v) => [v.label, v.kind])).toEqual(histories.map((h) => [h.label, 'ok']));
  });

  it('sees payloads encrypted in a later event (encryption turned on mid-run), not only in the input', async () => {
    const file = `${historiesDir}fixture__communications__clean.json`;
    const item = await readHistoryFile(file);
    const events = item.history.events ?? [];
    // The last activity result: written after encryption was turned on, the input before.
    const completed = events.findLast(
      (e) => e.activityTaskCompletedEventAttributes?.result,
    )?.activityTaskCompletedEventAttributes;
    const payloads = completed?.result?.payloads ?? [];
    expect(payloads.length).toBeGreaterThan(0);
    completed!.result!.payloads = await new AesGcmCodec(keys).encode(payloads);
    expect(await encryptedPayloadKeyIds(item.history)).toEqual(['later']);
    expect(await encryptedPayloadKeyIds((await readHistoryFile(file)).history)).toEqual([]);

    const workflowBundle = bundles.get('current')!;
    const [withoutKeys] = await replayHistories([item], { workflowBundle });
    expect(withoutKeys?.kind).toBe('failed');
    expect(withoutKeys?.kind === 'ok' ? '' : withoutKeys?.reason).toContain('"later"');
    const [withKeys] = await replayHistories([item], {
      workflowBundle,
      dataConverter: codecDataConverter(keys),
    });
    expect(withKeys?.kind).toBe('ok');
  });
});
