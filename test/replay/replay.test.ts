/**
 * Replay, the safety net: every committed history (recorded from real runs by `npm run record-fixtures`, never by a
 * test) replays against the current workflow code; a deliberately non-deterministic change fails replay with a
 * readable reason; the same change behind `patched()` replays; its `deprecatePatch()` clean-up does not replay runs
 * from before the patch. No server: replay needs only the histories and the code.
 */
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
import { workflowsPath } from '../../src/app/ingest-worker.ts';

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
  bundles.set('current', await bundleWorkflowsFrom(workflowsPath));
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

  it('replays every history against the current workflow code', async () => {
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
