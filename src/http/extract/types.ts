/**
 * The data types of record extraction: what the extractor takes (options), what it yields (batches of records that
 * keep their raw JSON text) and what it reports at the end (the outcome).
 */

import type { IngestError } from '../../errors.ts';
import type { CaptureOptions, CapturedValue } from './capture.ts';

/**
 * What was selected: the elements of an `array`, one `object` or one `scalar` record, zero records for a selected
 * `null`, or zero records for an `empty` body (no bytes, only whitespace, e.g. a 204).
 */
export const selectedKinds = ['array', 'object', 'scalar', 'null', 'empty'] as const;
export type SelectedKind = (typeof selectedKinds)[number];

/** Reported once the whole body has been read and found well-formed. */
export interface ExtractionOutcome {
  readonly records: number;
  /** UTF-8 bytes of all record texts. */
  readonly bytes: number;
  /** Bytes of the body, BOM and whitespace included. */
  readonly bodyBytes: number;
  readonly selected: SelectedKind;
  /**
   * The JSONPath of the selected value (`$`, `$.data`, `$['a.b']`). With auto-detection this is what was detected:
   * pin it for the next pages of the same resource, as dlt does.
   */
  readonly selector: string;
  readonly autoDetected: boolean;
  /**
   * Present when `capture` was asked for: the values captured outside the records, in document order (read one
   * with `capturedAt`).
   */
  readonly captured?: readonly CapturedValue[];
}

/** Options of {@link extractRecords}. */
export interface ExtractOptions {
  /**
   * dlt `data_selector`: a JSONPath such as `data`, `$.data`, `results.items` or `$['odd.key']` (see
   * docs/extraction.md for the supported subset). Omitted: dlt's auto-detection.
   */
  readonly selector?: string | undefined;
  /** Largest record (and largest value skipped or buffered whole) in UTF-8 bytes. Default 64 MiB. */
  readonly maxRecordBytes?: number | undefined;
  /** Deepest nesting of arrays and objects in the body. Default 256. */
  readonly maxDepth?: number | undefined;
  /** A batch is emitted once it holds this many records. Default 10 000. */
  readonly batchRecords?: number | undefined;
  /**
   * … or once its records' texts reach this many bytes. Default 512 KiB: a batch is live while it fills and while
   * it is consumed, so larger batches cost peak RSS (docs/extraction.md has the figures).
   */
  readonly batchBytes?: number | undefined;
  /**
   * Values outside the records to capture in the same pass (a paginator's next link, cursor or total), read from
   * `outcome.captured` once the body has ended; records may come before or after them.
   */
  readonly capture?: CaptureOptions | undefined;
  /**
   * What each `IngestError` of this extraction becomes before it is thrown — the caller's context added (the
   * request, the page) and the body excerpt redacted — whether iterating throws it or reading a record's `value`
   * does, later (docs/extraction.md). Default: thrown as it is.
   */
  readonly decorateFailure?: ((error: IngestError) => IngestError) | undefined;
}
