/**
 * Record extraction from streamed JSON response bodies: the public surface of `src/http/extract`.
 */
export { extractRecords, extractAllRecords, RecordExtraction } from './extract-records.ts';
export type { ResponseBody } from './byte-reader.ts';
export { parseDataSelector, formatDataSelector } from './data-selector.ts';
export { capturedAt, maxCapturedValues } from './capture.ts';
export type { CaptureOptions, CapturedValue } from './capture.ts';
export type { SelectorPath } from './data-selector.ts';
export { defaultExtractOptions } from './extract-options.ts';
export { extractErrorCodes } from './extract-errors.ts';
export type { ExtractErrorCode } from './extract-errors.ts';
export { recordKeys } from './auto-detect.ts';
export { selectedKinds } from './types.ts';
export type { ExtractOptions, ExtractionOutcome, SelectedKind } from './types.ts';
