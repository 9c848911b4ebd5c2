/**
 * Defaults and validation of the extraction options. Bad options are a `config` error raised when the extraction
 * is created, before any byte of the body is read.
 */
import { IngestError } from '../../errors.ts';
import type { CaptureOptions } from './capture.ts';
import { Captures } from './capture.ts';
import type { SelectorPath } from './data-selector.ts';
import { parseDataSelector } from './data-selector.ts';
import type { ExtractOptions } from './types.ts';

export const defaultExtractOptions = {
  maxRecordBytes: 64 * 1024 * 1024,
  maxDepth: 256,
  batchRecords: 10_000,
  batchBytes: 512 * 1024,
} as const;

/** Options with defaults applied; `path` is undefined for auto-detection. */
export interface ResolvedExtractOptions {
  readonly path: SelectorPath | undefined;
  readonly maxRecordBytes: number;
  readonly maxDepth: number;
  readonly batchRecords: number;
  readonly batchBytes: number;
  /** Checked; compiled afresh for each run (`Captures.from`). */
  readonly capture: CaptureOptions | undefined;
  /** Applied to every `IngestError` of the extraction: its own, and its records' (`element-record.ts`). */
  readonly decorateFailure: (error: IngestError) => IngestError;
}

// V8 strings hold at most 2^29 - 24 UTF-16 units: a larger record could not be kept as text.
const limits = {
  maxRecordBytes: [1, 512 * 1024 * 1024 - 64],
  // The scanner keeps one byte per open level (no recursion): a million levels cost 1 MB.
  maxDepth: [1, 1_000_000],
  batchRecords: [1, 10_000_000],
  batchBytes: [1, 2 ** 31 - 1],
} as const;

/** Applies defaults and checks every option; throws `IngestError` (`config`, `INVALID_EXTRACT_OPTION`). */
export function resolveExtractOptions(options: ExtractOptions): ResolvedExtractOptions {
  return {
    path: options.selector === undefined ? undefined : parseDataSelector(options.selector),
    maxRecordBytes: checked('maxRecordBytes', options.maxRecordBytes),
    maxDepth: checked('maxDepth', options.maxDepth),
    batchRecords: checked('batchRecords', options.batchRecords),
    batchBytes: checked('batchBytes', options.batchBytes),
    capture: Captures.from(options.capture) === undefined ? undefined : options.capture,
    decorateFailure: options.decorateFailure ?? asItIs,
  };
}

function asItIs(error: IngestError): IngestError {
  return error;
}

function checked(name: keyof typeof limits, value: number | undefined): number {
  if (value === undefined) return defaultExtractOptions[name];
  const [min, max] = limits[name];
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new IngestError(
      'config',
      'INVALID_EXTRACT_OPTION',
      `${name}: expected an integer from ${min} to ${max}, got ${String(value)}`,
      { details: { option: name, value: String(value) } },
    );
  }
  return value;
}
