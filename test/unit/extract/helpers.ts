/** Test helpers for record extraction: bodies split into chosen chunks, collecting records, asserting errors. */
import { expect } from 'vitest';
import { IngestError } from '../../../src/errors.ts';
import { extractRecords } from '../../../src/http/extract/extract-records.ts';
import type { ExtractOptions, ExtractionOutcome } from '../../../src/http/extract/types.ts';
import type { ExtractedRecord } from '../../../src/shared/records.ts';

const encoder = new TextEncoder();

/** UTF-8 bytes of a string (or the bytes themselves). */
export function bytesOf(body: string | Uint8Array): Uint8Array {
  return typeof body === 'string' ? encoder.encode(body) : body;
}

/**
 * A body streamed in chunks: `chunkSize` bytes each (default: all at once), or the given cut points. Each chunk is
 * a fresh copy, as a network stream would deliver it.
 */
export async function* streamOf(body: string | Uint8Array, chunking: number | readonly number[] = Infinity) {
  const bytes = bytesOf(body);
  const cuts = typeof chunking === 'number' ? evenCuts(bytes.length, chunking) : [...chunking, bytes.length];
  let from = 0;
  for (const cut of cuts) {
    const to = Math.min(Math.max(cut, from), bytes.length);
    if (to > from) yield bytes.slice(from, to);
    from = to;
  }
  if (from < bytes.length) yield bytes.slice(from);
  await Promise.resolve();
}

function evenCuts(length: number, size: number): number[] {
  if (!Number.isFinite(size)) return [length];
  const cuts = [];
  for (let at = size; at < length; at += size) cuts.push(at);
  return cuts;
}

/** Every record of a body and the outcome. */
export async function extract(
  body: string | Uint8Array,
  options: ExtractOptions = {},
  chunking: number | readonly number[] = Infinity,
): Promise<{ records: ExtractedRecord[]; outcome: ExtractionOutcome }> {
  const extraction = extractRecords(streamOf(body, chunking), options);
  const records: ExtractedRecord[] = [];
  for await (const batch of extraction) records.push(...batch.records);
  if (extraction.outcome === undefined) throw new Error('no outcome after a complete iteration');
  return { records, outcome: extraction.outcome };
}

/** The values of every record. */
export async function valuesOf(body: string, options: ExtractOptions = {}): Promise<unknown[]> {
  return (await extract(body, options)).records.map((record) => record.value);
}

/**
 * Asserts that extracting `body` fails with an IngestError of this category and code; returns it. Every record's
 * `value` is read, as its consumers (staging included) settle it: a record that is not JSON fails then.
 */
export async function expectFailure(
  body: string | Uint8Array,
  code: string,
  options: ExtractOptions = {},
  chunking: number | readonly number[] = Infinity,
): Promise<IngestError> {
  let failure: unknown;
  try {
    for (const record of (await extract(body, options, chunking)).records) void record.value;
  } catch (error) {
    failure = error;
  }
  expect(failure, `expected ${code}`).toBeInstanceOf(IngestError);
  const error = failure as IngestError;
  expect({ code: error.code, category: error.category, message: error.message }).toMatchObject({
    code,
    category: 'response-shape',
  });
  return error;
}
