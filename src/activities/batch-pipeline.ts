/**
 * `BatchPipeline`: how `ingestResource` stages the record batches of its pages — a few at once, each on its own
 * pooled connection and in its own span (`AttemptObserver.stage`), with the raw bytes in flight bounded.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { Staging } from '../db/staging/registry.ts';
import { stageRecords } from '../db/staging/stage-records.ts';
import type { ExtractedRecord } from '../shared/records.ts';
import type { AttemptObserver } from './observe.ts';

/** How much staging may be in flight at once for one resource. */
export interface PipelineLimits {
  /** Batches staged at once (each holds one pooled connection while it runs). */
  readonly batches: number;
  /**
   * Raw record bytes in flight, summed over the batches being staged: a batch waits while it would go over (one
   * batch always goes, however big), so memory stays bounded whatever the page or record size.
   */
  readonly bytes: number;
}

/**
 * Two batches at once: Postgres shapes one while it receives the next, and the Node process extracts a third —
 * both sides of a 2-core machine busy. Each holds a connection of the pool all running resources share
 * (`--concurrency` + 4), so the number stays small. The bytes bound is three batches, not two: the extractor seals
 * a batch with the record that reaches `batchBytes`, so a full batch is a little over it, and two full ones must
 * fit together.
 */
export function pipelineLimits(batchBytes: number): PipelineLimits {
  return { batches: 2, bytes: 3 * batchBytes };
}

/**
 * Stages batches with up to `limits.batches` in flight while the next one is extracted. Order does not matter:
 * sequence numbers say it, and each batch is its own transaction. A failed batch fails the next `stage` or `drain`,
 * but only once every batch in flight has ended, so nothing of this attempt commits after it has failed.
 */
export class BatchPipeline {
  readonly #inFlight = new Set<Promise<void>>();
  /** The last `afterStaged` step (it never rejects: a failure is kept in `#failure`). */
  #afterStaged: Promise<void> = Promise.resolve();
  #bytes = 0;
  /** The records rejected by the batches started since the last `afterStaged` (each batch adds to its own page's). */
  #page = { rejected: 0 };
  #failure: { readonly error: unknown } | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly staging: Staging,
    private readonly observer: AttemptObserver,
    private readonly limits: PipelineLimits,
  ) {}

  /** Starts staging a batch once there is room for it; resolves when it has started, not when it is staged. */
  async stage(seq: number, records: readonly ExtractedRecord[]): Promise<void> {
    const size = rawBytes(records);
    while (
      this.#failure === undefined &&
      this.#inFlight.size > 0 &&
      (this.#inFlight.size >= this.limits.batches || this.#bytes + size > this.limits.bytes)
    ) {
      await Promise.race(this.#inFlight);
    }
    if (this.#failure !== undefined) await this.drain();
    this.#bytes += size;
    const page = this.#page;
    const tracked: Promise<void> = this.observer
      .stage(seq, records.length, () => stageRecords(this.db, this.staging, seq, records))
      .then(
        (outcome) => {
          page.rejected += outcome.rejected;
        },
        (error: unknown) => {
          this.#failure ??= { error };
        },
      )
      .then(() => {
        this.#inFlight.delete(tracked);
        this.#bytes -= size;
      });
    this.#inFlight.add(tracked);
  }

  /**
   * Runs `then` once every batch started so far is staged, after the previous `then`, while the caller goes on
   * (a page's checkpoint, saved while the next page is fetched): `then` gets the records rejected by the batches
   * started since the previous call (the page's own, not the next page's already staged). It does not run after a
   * failure; its own failure fails the next `stage` or `drain`. Waits for the previous step first, so at most one
   * is pending.
   */
  async afterStaged(then: (rejected: number) => Promise<void>): Promise<void> {
    const page = this.#page;
    this.#page = { rejected: 0 };
    const batches = [...this.#inFlight];
    await this.#afterStaged;
    if (this.#failure !== undefined) await this.drain();
    this.#afterStaged = Promise.all(batches).then(async () => {
      if (this.#failure !== undefined) return;
      await then(page.rejected).catch((error: unknown) => {
        this.#failure ??= { error };
      });
    });
  }

  /**
   * Waits for every batch in flight; returns the records rejected by the batches started since the last
   * `afterStaged` or drain, or throws the first failure.
   */
  async drain(): Promise<{ rejected: number }> {
    await this.settle();
    if (this.#failure !== undefined) throw this.#failure.error;
    const { rejected } = this.#page;
    this.#page = { rejected: 0 };
    return { rejected };
  }

  /**
   * The first failure of a batch or an `afterStaged` step, if there was one: an attempt that fails for another
   * reason while it is pending (the next page's request) reports this one instead, as it came first.
   */
  get failure(): { readonly error: unknown } | undefined {
    return this.#failure;
  }

  /**
   * Waits for every batch in flight and the pending `afterStaged` step to end, failed or not (also before an attempt
   * gives up, so nothing of it commits later).
   */
  async settle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight);
    await this.#afterStaged;
  }
}

/** The raw bytes of a batch's records (their UTF-8 bytes as received, or their text's length). */
function rawBytes(records: readonly ExtractedRecord[]): number {
  let bytes = 0;
  for (const record of records) bytes += record.bytes?.length ?? record.text.length;
  return bytes;
}
