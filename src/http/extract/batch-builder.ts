/**
 * Groups records into batches of at most `maxRecords` records or about `maxBytes` bytes of text (a batch is sealed
 * by the record that reaches the byte size), and keeps the totals of the response.
 */
import type { RecordSink } from './parse-records.ts';
import type { ExtractedRecord, RecordBatch } from '../../shared/records.ts';

/** The record sink of one extraction: open batch, sealed batches, totals. */
export class BatchBuilder implements RecordSink {
  /** Sealed batches not yet handed out. */
  ready: RecordBatch[] = [];
  totalRecords = 0;
  totalBytes = 0;

  private records: ExtractedRecord[] = [];
  private bytes = 0;

  constructor(
    private readonly maxRecords: number,
    private readonly maxBytes: number,
  ) {}

  add(record: ExtractedRecord, bytes: number): void {
    this.records.push(record);
    this.bytes += bytes;
    this.totalRecords += 1;
    this.totalBytes += bytes;
    if (this.records.length >= this.maxRecords || this.bytes >= this.maxBytes) this.seal();
  }

  /** Seals the open batch (if it has records). */
  seal(): void {
    if (this.records.length === 0) return;
    this.ready.push({ records: this.records, bytes: this.bytes });
    this.records = [];
    this.bytes = 0;
  }

  /** Hands out the sealed batches. */
  take(): RecordBatch[] {
    const batches = this.ready;
    this.ready = [];
    return batches;
  }
}
