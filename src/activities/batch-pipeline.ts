/**
 * `BatchPipeline`: how `ingestResource` stages the record batches of its pages, each in its own span
 * (`AttemptObserver.stage`).
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { Staging } from '../db/staging/registry.ts';
import { stageRecords } from '../db/staging/stage-records.ts';
import type { ExtractedRecord } from '../shared/records.ts';
import type { AttemptObserver } from './observe.ts';

/**
 * Stages batches with one in flight: the next batch is extracted while Postgres expands the previous one, which
 * keeps both the Node process and Postgres busy on 2 cores. Order does not matter (sequence numbers say it).
 */
export class BatchPipeline {
  #inFlight: Promise<{ rejected: number }> | undefined;
  #rejected = 0;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly staging: Staging,
    private readonly observer: AttemptObserver,
  ) {}

  async stage(seq: number, records: readonly ExtractedRecord[]): Promise<void> {
    await this.#settle();
    const pending = this.observer.stage(seq, records.length, () =>
      stageRecords(this.db, this.staging, seq, records),
    );
    // Observed at once so a failure never goes unhandled while the next batch is read; rethrown by #settle.
    pending.catch(() => undefined);
    this.#inFlight = pending;
  }

  /** Waits for the batch in flight; returns the records rejected since the last drain. */
  async drain(): Promise<{ rejected: number }> {
    await this.#settle();
    const rejected = this.#rejected;
    this.#rejected = 0;
    return { rejected };
  }

  async #settle(): Promise<void> {
    const pending = this.#inFlight;
    this.#inFlight = undefined;
    if (pending) this.#rejected += (await pending).rejected;
  }
}
