/**
 * The hot path of extraction: streaming the elements of one JSON array. The scanner cuts complete elements out of
 * each chunk; they become records as bytes, neither decoded nor parsed (`element-record.ts`) — or, for an array
 * outside the selection, are validated together (one `JSON.parse` for many). The unfinished element stays as bytes
 * until the next chunk completes it.
 */
import type { BatchBuilder } from './batch-builder.ts';
import type { ByteReader } from './byte-reader.ts';
import type { ResolvedExtractOptions } from './extract-options.ts';
import type { JsonCursor } from './json-cursor.ts';
import { CLOSE_BRACKET, PositionList, isJsonWhitespace, scanElements } from './json-scanner.ts';
import { addRecords, validateElements } from './parse-records.ts';
import type { RecordBatch } from '../../shared/records.ts';

/** At most this many elements are taken together (one copy, or one `JSON.parse` of a skipped array's)… */
const maxElementsPerTake = 8192;
/** … and the scanner looks at most this far ahead before they are taken (bounds memory for huge chunks). */
const maxBytesPerTake = 1024 * 1024;

/** Streams the arrays of one body (one at a time, at the cursor's position). */
export class ArrayStreamer {
  private readonly separators = new PositionList();
  private readonly starts = new Int32Array(maxElementsPerTake);
  private readonly ends = new Int32Array(maxElementsPerTake);

  constructor(
    private readonly reader: ByteReader,
    private readonly cursor: JsonCursor,
    private readonly options: ResolvedExtractOptions,
    private readonly batches: BatchBuilder,
  ) {}

  /**
   * Streams the array at the current position: with `keep`, its elements become records; otherwise they are only
   * validated. Complete elements are cut from each chunk and taken together; the unfinished one stays as bytes.
   */
  async *stream(keep: boolean): AsyncGenerator<RecordBatch> {
    const reader = this.reader;
    const scan = this.cursor.scan;
    const separators = this.separators;
    this.cursor.enterContainer();
    scan.reset(this.options.maxDepth - this.cursor.depth);
    let elementStart = reader.pos;
    let elements = 0;
    for (;;) {
      separators.length = 0;
      const view = reader.view;
      const to = Math.min(view.length, reader.pos + maxBytesPerTake);
      const stop = scanElements(scan, view, reader.pos, to, separators, maxElementsPerTake);
      if (stop === -1) throw this.cursor.structureFailure();
      reader.pos = stop;
      if (separators.length > 0) {
        elementStart = this.takeElements(elementStart, elements, keep);
        elements += separators.length - (scan.closed ? 1 : 0);
        if (keep) yield* this.batches.take();
      }
      if (scan.closed) {
        // The `]` is the last separator; takeElements counted a non-empty final element.
        reader.pos = elementStart;
        reader.mark = reader.pos;
        this.cursor.depth -= 1;
        return;
      }
      if (reader.pos < view.length) continue;
      if (reader.pos - elementStart > this.options.maxRecordBytes) {
        const index = keep ? this.batches.totalRecords : elements;
        throw this.cursor.tooLarge(keep ? 'RECORD_TOO_LARGE' : 'VALUE_TOO_LARGE', index, elementStart);
      }
      const shift = await this.cursor.fill(elementStart - 1);
      if (shift === -1)
        throw this.cursor.truncated(keep ? `inside record ${this.batches.totalRecords}` : 'inside an array');
      elementStart -= shift;
    }
  }

  /**
   * Turns the separators found by the scanner into trimmed element spans, and those into records (or validates
   * them). Returns where the next element starts.
   */
  private takeElements(elementStart: number, elementsBefore: number, keep: boolean): number {
    const view = this.reader.view;
    const separators = this.separators;
    const starts = this.starts;
    const ends = this.ends;
    const maxBytes = this.options.maxRecordBytes;
    const firstIndex = keep ? this.batches.totalRecords : elementsBefore;
    let count = 0;
    let start = elementStart;
    for (let j = 0; j < separators.length; j += 1) {
      const separator = separators.items[j]!;
      let a = start;
      let b = separator;
      while (a < b && isJsonWhitespace(view[a]!)) a += 1;
      while (b > a && isJsonWhitespace(view[b - 1]!)) b -= 1;
      start = separator + 1;
      if (a === b) {
        // Only `[]` (or `[ ]`) may have an empty element.
        if (view[separator] === CLOSE_BRACKET && elementsBefore + j === 0) continue;
        throw this.cursor.failure(
          'INVALID_JSON',
          'a value is missing in an array (a doubled or trailing comma?)',
          separator,
        );
      }
      if (b - a > maxBytes) {
        const index = keep ? firstIndex + count : elementsBefore + j;
        throw this.cursor.tooLarge(keep ? 'RECORD_TOO_LARGE' : 'VALUE_TOO_LARGE', index, a);
      }
      starts[count] = a;
      ends[count] = b;
      count += 1;
    }
    if (count > 0) {
      const context = this.cursor.context(keep ? 'record' : 'element', firstIndex);
      if (keep) addRecords(view, starts, ends, count, this.batches, context, this.options.decorateFailure);
      else validateElements(view, starts, ends, count, context);
    }
    // Keep the separator before the next element: validating a skipped array's elements writes a `[` there.
    this.reader.mark = start - 1;
    return start;
  }
}
