/**
 * `BatchPipeline`: how many batches and bytes it has in flight, when a page's checkpoint step runs, and that a failed
 * batch fails the attempt only once the others in flight have ended. Staging itself is an observer's step here (the
 * pipeline runs each batch through `AttemptObserver.stage`): the batches end when the test says so.
 */
import { describe, expect, it } from 'vitest';
import { BatchPipeline, pipelineLimits } from '../../../src/activities/batch-pipeline.ts';
import type { AttemptObserver } from '../../../src/activities/observe.ts';
import type { StageOutcome } from '../../../src/db/staging/stage-records.ts';
import type { ExtractedRecord } from '../../../src/shared/records.ts';

interface Pending {
  readonly seq: number;
  finish(rejected?: number): void;
  fail(error: Error): void;
}

/** A pipeline whose batches stay in flight until the test finishes or fails them (`started`, in order). */
function pipeline(limits = pipelineLimits(100)) {
  const started: Pending[] = [];
  const observer = {
    stage: (seq: number) =>
      new Promise<StageOutcome>((resolve, reject) => {
        started.push({
          seq,
          finish: (rejected = 0) => resolve({ staged: 1, rejected, replaced: false }),
          fail: reject,
        });
      }),
  } as unknown as AttemptObserver;
  return { stager: new BatchPipeline({} as never, {} as never, observer, limits), started };
}

function batch(bytes: number): ExtractedRecord[] {
  return [{ text: 'x'.repeat(bytes), value: {}, issues: [] }];
}

/** Whether `promise` has settled once pending callbacks have run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('BatchPipeline', () => {
  it('starts a batch only when fewer than `batches` are in flight', async () => {
    const { stager, started } = pipeline();
    await stager.stage(1, batch(10));
    await stager.stage(2, batch(10));
    const third = stager.stage(3, batch(10));
    expect(await settled(third)).toBe(false);
    started[0]?.finish();
    await third;
    expect(started.map((p) => p.seq)).toEqual([1, 2, 3]);
  });

  it('holds a batch that would put the bytes in flight over the bound, but always lets one go', async () => {
    const { stager, started } = pipeline({ batches: 4, bytes: 100 });
    await stager.stage(1, batch(60));
    const big = stager.stage(2, batch(500));
    expect(await settled(big)).toBe(false);
    started[0]?.finish();
    await big; // alone in flight: goes, whatever its size
    expect(started).toHaveLength(2);
  });

  it('runs a checkpoint step after the batches before it, with their rejections, while later batches go on', async () => {
    const { stager, started } = pipeline();
    const steps: number[] = [];
    await stager.stage(1, batch(10));
    await stager.afterStaged((rejected) => {
      steps.push(rejected);
      return Promise.resolve();
    });
    await stager.stage(2, batch(10)); // the next page's batch starts before the checkpoint
    expect(steps).toEqual([]);
    started[0]?.finish(3);
    await new Promise((resolve) => setImmediate(resolve));
    expect(steps).toEqual([3]);
    started[1]?.finish(1);
    expect(await stager.drain()).toEqual({ rejected: 1 });
  });

  it('fails only once every batch in flight has ended, and runs no checkpoint after a failure', async () => {
    const { stager, started } = pipeline();
    let checkpointed = false;
    await stager.stage(1, batch(10));
    await stager.stage(2, batch(10));
    await stager.afterStaged(() => {
      checkpointed = true;
      return Promise.resolve();
    });
    started[0]?.fail(new Error('batch 1 failed'));
    const drained = stager.drain();
    expect(await settled(drained)).toBe(false); // batch 2 is still in flight
    started[1]?.finish();
    await expect(drained).rejects.toThrow('batch 1 failed');
    expect(checkpointed).toBe(false);
  });

  it('keeps two full batches in flight: the extractor seals a batch a little over `batchBytes`', async () => {
    const { stager, started } = pipeline(pipelineLimits(100));
    await stager.stage(1, batch(101));
    await stager.stage(2, batch(101)); // resolves only once it has started
    expect(started.map((p) => p.seq)).toEqual([1, 2]);
    started[0]?.finish();
    started[1]?.finish();
    await stager.drain();
  });

  it("runs a page's checkpoint step only once its earliest batch ends, whichever ends first", async () => {
    const { stager, started } = pipeline();
    const steps: number[] = [];
    await stager.stage(1, batch(10));
    await stager.stage(2, batch(10));
    await stager.afterStaged((rejected) => {
      steps.push(rejected);
      return Promise.resolve();
    });
    started[1]?.finish(2);
    await new Promise((resolve) => setImmediate(resolve));
    expect(steps).toEqual([]); // batch 1 is still in flight
    started[0]?.finish(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(steps).toEqual([3]);
  });

  it("hands a checkpoint step its own page's rejections, not those of the next page staged meanwhile", async () => {
    const { stager, started } = pipeline();
    const steps: number[] = [];
    await stager.stage(1, batch(10));
    await stager.afterStaged((rejected) => {
      steps.push(rejected);
      return Promise.resolve();
    });
    await stager.stage(2, batch(10)); // the next page's batch
    started[1]?.finish(5); // ends first
    started[0]?.finish(1);
    expect(await stager.drain()).toEqual({ rejected: 5 });
    expect(steps).toEqual([1]);
  });

  it("fails the next stage with a checkpoint step's failure", async () => {
    const { stager, started } = pipeline();
    await stager.stage(1, batch(10));
    await stager.afterStaged(() => Promise.reject(new Error('checkpoint failed')));
    started[0]?.finish();
    await new Promise((resolve) => setImmediate(resolve));
    await expect(stager.stage(2, batch(10))).rejects.toThrow('checkpoint failed');
    expect(started).toHaveLength(1); // the next batch never started
    await expect(stager.drain()).rejects.toThrow('checkpoint failed');
  });

  it('reports the first of two failures, and exposes it for an attempt that fails otherwise meanwhile', async () => {
    const { stager, started } = pipeline();
    await stager.stage(1, batch(10));
    await stager.stage(2, batch(10));
    started[1]?.fail(new Error('batch 2 failed'));
    await new Promise((resolve) => setImmediate(resolve));
    started[0]?.fail(new Error('batch 1 failed'));
    await stager.settle();
    expect(stager.failure?.error).toEqual(new Error('batch 2 failed'));
    await expect(stager.drain()).rejects.toThrow('batch 2 failed');
  });
});
