/**
 * The entry point of record extraction: a response body (streamed bytes) → batches of records, each with its raw
 * JSON text, while the body is still arriving. See docs/extraction.md for the algorithm, the JSONPath subset, dlt's
 * auto-detection and how each hostile body is classified.
 */
import { isIngestError } from '../../errors.ts';
import { BatchBuilder } from './batch-builder.ts';
import { ByteReader } from './byte-reader.ts';
import type { ResponseBody } from './byte-reader.ts';
import { Captures } from './capture.ts';
import type { ResolvedExtractOptions } from './extract-options.ts';
import { resolveExtractOptions } from './extract-options.ts';
import { Extractor } from './extractor.ts';
import type { ExtractOptions, ExtractionOutcome } from './types.ts';
import type { RecordBatch } from '../../shared/records.ts';

/**
 * The records of one response, as an async iterable of batches (iterate it once). `outcome` is set when the
 * iteration has finished without error.
 */
export class RecordExtraction implements AsyncIterable<RecordBatch> {
  #outcome: ExtractionOutcome | undefined;
  #started = false;

  constructor(
    private readonly body: ResponseBody,
    private readonly options: ResolvedExtractOptions,
  ) {}

  /** Totals and what was selected; undefined until the body has been read to its end and found well-formed. */
  get outcome(): ExtractionOutcome | undefined {
    return this.#outcome;
  }

  [Symbol.asyncIterator](): AsyncIterator<RecordBatch> {
    if (this.#started) throw new Error('a RecordExtraction can be iterated only once');
    this.#started = true;
    return this.#run();
  }

  async *#run(): AsyncGenerator<RecordBatch> {
    const reader = new ByteReader(this.body);
    const batches = new BatchBuilder(this.options.batchRecords, this.options.batchBytes);
    const extractor = new Extractor(reader, this.options, batches, Captures.from(this.options.capture));
    try {
      yield* extractor.run();
      this.#outcome = extractor.outcome();
    } catch (error) {
      // The body stream's own errors (not ours) pass through as they are.
      throw isIngestError(error) ? this.options.decorateFailure(error) : error;
    } finally {
      await reader.close();
    }
  }
}

/**
 * Extracts the records of a JSON response body as it streams: the elements of the array that `selector` (dlt's
 * `data_selector`, auto-detected like dlt when omitted) selects, one record for a selected object, none for `null`
 * or an empty body. Options are checked now (a `config` IngestError); the body is read only when iterated. A broken
 * body fails with a `response-shape` IngestError (passed through `decorateFailure`), possibly after some batches
 * were yielded: the iteration throws it for a body that is not well-formed around and between the records, and
 * reading `value` of a record that is not JSON throws it — when the consumer reads it (staging, docs/loading.md),
 * perhaps after the iteration ended. A caller must treat the whole response as failed when either throws.
 */
export function extractRecords(body: ResponseBody, options: ExtractOptions = {}): RecordExtraction {
  return new RecordExtraction(body, resolveExtractOptions(options));
}

/** Collects every record of a body (tests, small responses): the records and the outcome. */
export async function extractAllRecords(
  body: ResponseBody,
  options: ExtractOptions = {},
): Promise<{ records: RecordBatch['records']; outcome: ExtractionOutcome }> {
  const extraction = extractRecords(body, options);
  const records = [];
  for await (const batch of extraction) for (const record of batch.records) records.push(record);
  return { records, outcome: extraction.outcome! };
}
