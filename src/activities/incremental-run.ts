/**
 * One incremental resource's run, for `ingestResource`: the window it asks for (decided at its first attempt and
 * kept, so a resumed attempt asks for the same one), the filter its records pass (resumed from the last checkpointed
 * page), what its merge stores as the new cursor (inside the merge transaction), and the report.
 */
import type { Kysely } from 'kysely';
import {
  fixWindow,
  readCursor,
  readCursorProgress,
  readWindow,
  storeCursor,
  type CursorProgress,
  type IncrementalWindow,
} from '../db/ledger/cursors.ts';
import type { Database } from '../db/schema.ts';
import type { IncrementalReport, IngestResourceInput } from '../shared/ingest-types.ts';
import type { ResolvedIncremental } from '../shared/plan.ts';
import { decideWindow, nextCursor, WindowFilter } from './incremental-window.ts';

export class IncrementalRun {
  private constructor(
    private readonly input: IngestResourceInput,
    readonly incremental: ResolvedIncremental,
    readonly window: IncrementalWindow,
  ) {}

  /** The run of an incremental resource (null for any other), its window fixed in the ledger. */
  static async open(db: Kysely<Database>, input: IngestResourceInput): Promise<IncrementalRun | null> {
    const incremental = input.resource.endpoint?.incremental ?? null;
    if (incremental === null) return null;
    // A retried attempt keeps the first attempt's window (and never recomputes it from a cursor its merge moved).
    const saved = await readWindow(db, input.loadId, input.resource.name);
    if (saved !== null) return new IncrementalRun(input, incremental, saved);
    const stored = await readCursor(db, input.source, input.resource.name);
    const window = await fixWindow(db, {
      loadId: input.loadId,
      resource: input.resource.name,
      window: decideWindow(incremental, stored, {
        ...(input.window === undefined ? {} : { override: input.window }),
        ...(input.reset === true ? { reset: true } : {}),
      }),
    });
    return new IncrementalRun(input, incremental, window);
  }

  /** The window's values, as the request carries them. */
  get values(): { readonly start: IncrementalWindow['start']; readonly end: IncrementalWindow['end'] } {
    return { start: this.window.start, end: this.window.end };
  }

  /** The filter of a fetch that resumes after `resumeAfterPage` (0: from the start). */
  async filter(db: Kysely<Database>, resumeAfterPage: number): Promise<WindowFilter> {
    const from: CursorProgress =
      resumeAfterPage === 0
        ? { max: null, outside: 0 }
        : await readCursorProgress(db, this.input.loadId, this.input.resource.name);
    return new WindowFilter(this.incremental, this.window, from);
  }

  /** What the merge transaction does besides the merge: store the cursor this run reached, if it advances. */
  withinMerge(
    filter: WindowFilter,
  ): (
    trx: Kysely<Database>,
    merged: { readonly fetched: number; readonly rejected: number },
  ) => Promise<void> {
    return async (trx, merged) => {
      // Every record rejected: the resource fails after this merge, and the cursor must not pass its records.
      if (merged.fetched === 0 && merged.rejected > 0) return;
      const { source, resource, loadId } = this.input;
      const stored = await readCursor(trx, source, resource.name);
      const next = nextCursor(stored, filter.progress.max, this.window, this.input.reset === true);
      if (next !== undefined)
        await storeCursor(trx, { source, resource: resource.name, loadId, value: next });
    };
  }

  /** The window, the records left out and the cursor stored now. */
  async report(db: Kysely<Database>, outside: number): Promise<IncrementalReport> {
    return {
      ...this.window,
      outside,
      cursor: await readCursor(db, this.input.source, this.input.resource.name),
    };
  }
}
