/**
 * Property tests: for random documents split at random chunk boundaries the extractor yields exactly what
 * `JSON.parse` sees, in order, with each record's exact source text; for corrupted documents it either agrees with
 * `JSON.parse` or fails with a response-shape error — and always ends.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IngestError } from '../../../src/errors.ts';
import { extractRecords } from '../../../src/http/extract/extract-records.ts';
import type { ExtractOptions } from '../../../src/http/extract/types.ts';
import type { ExtractedRecord } from '../../../src/shared/records.ts';
import {
  asciiJsonNode,
  createRandom,
  expectedIssues,
  jsonNode,
  whitespace,
  writeJson,
} from './json-documents.ts';
import { streamOf } from './helpers.ts';

/** `EXTRACT_FUZZ_SCALE=50 npx vitest run …` fuzzes 50× longer. */
const scale = Number(process.env['EXTRACT_FUZZ_SCALE'] ?? '1');
const runs = (count: number): { numRuns: number } => ({ numRuns: Math.max(1, Math.round(count * scale)) });

const shapes = ['data-selected', 'data-auto', 'array-selected', 'array-auto'] as const;
type Shape = (typeof shapes)[number];

interface Document {
  readonly text: string;
  readonly bytes: Uint8Array;
  readonly elements: readonly string[];
  readonly issues: readonly string[][];
  readonly options: ExtractOptions;
}

/** Assembles a document of the given shape around the element texts. */
function assemble(
  shape: Shape,
  elements: readonly string[],
  issues: readonly string[][],
  extras: readonly string[],
  seed: number,
): Document {
  const random = createRandom(seed);
  const ws = (): string => whitespace(random);
  const array = `[${ws()}${elements.join(`${ws()},${ws()}`)}${ws()}]`;
  let text: string;
  if (shape === 'data-selected' || shape === 'data-auto') {
    const members: string[] = [];
    // Auto-detection picks the first suitable list, so extra members go after `data` there.
    if (shape === 'data-selected' && extras[0] !== undefined)
      members.push(`"meta"${ws()}:${ws()}${extras[0]}`);
    members.push(`"data"${ws()}:${ws()}${array}`);
    if (extras[1] !== undefined) members.push(`"links"${ws()}:${ws()}${extras[1]}`);
    text = `{${ws()}${members.join(`${ws()},${ws()}`)}${ws()}}`;
  } else {
    text = array;
  }
  text = (random() < 0.1 ? '\uFEFF' : '') + ws() + text + ws();
  const selector = shape === 'data-selected' ? 'data' : shape === 'array-selected' ? '$' : undefined;
  return {
    text,
    bytes: new TextEncoder().encode(text),
    elements,
    issues,
    options: { selector, batchRecords: 3 },
  };
}

const documents = fc
  .record({
    shape: fc.constantFrom(...shapes),
    nodes: fc.array(jsonNode, { maxLength: 8 }),
    extras: fc.array(jsonNode, { minLength: 2, maxLength: 2 }),
    seed: fc.integer(),
  })
  .map(({ shape, nodes, extras, seed }) => {
    const random = createRandom(seed);
    const write = (node: (typeof nodes)[number]): string => writeJson(node, random);
    return assemble(shape, nodes.map(write), nodes.map(expectedIssues), extras.map(write), seed ^ 0x5bd1e995);
  });

/** Long arrays of mostly-ASCII records with a few non-ASCII ones: the batch decode and parse paths. */
const longDocuments = fc
  .record({
    shape: fc.constantFrom(...shapes),
    nodes: fc.array(fc.oneof({ arbitrary: asciiJsonNode, weight: 30 }, { arbitrary: jsonNode, weight: 1 }), {
      minLength: 20,
      maxLength: 400,
    }),
    seed: fc.integer(),
  })
  .map(({ shape, nodes, seed }) => {
    const random = createRandom(seed);
    const elements = nodes.map((node) => writeJson(node, random));
    return assemble(shape, elements, nodes.map(expectedIssues), [], seed);
  });

/** Cut points: 1-byte chunks, fixed sizes, or random cuts. */
const chunkings = fc.oneof(
  fc.constant<number | number[]>(1),
  fc.integer({ min: 2, max: 40 }),
  fc
    .array(fc.integer({ min: 1, max: 4000 }), { maxLength: 12 })
    .map((cuts) => [...cuts].sort((a, b) => a - b)),
);

interface Result {
  readonly records: ExtractedRecord[];
  readonly error?: unknown;
}

/** Runs the extractor to its end (or its error); a hang would time the test out. */
async function run(bytes: Uint8Array, options: ExtractOptions, chunking: number | number[]): Promise<Result> {
  const records: ExtractedRecord[] = [];
  try {
    for await (const batch of extractRecords(streamOf(bytes, chunking), options))
      records.push(...batch.records);
    // Whether a record is JSON is settled when its value is read (by staging, or here).
    for (const record of records) void record.value;
    return { records };
  } catch (error) {
    return { records, error };
  }
}

function expectResponseShapeError(error: unknown): void {
  expect(error).toBeInstanceOf(IngestError);
  expect((error as IngestError).category).toBe('response-shape');
}

/** What `JSON.parse` says the records are, or undefined when the bytes are not (strict) JSON. */
function oracle(bytes: Uint8Array, options: ExtractOptions): unknown[] | 'missing' | undefined {
  let document: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
    if (text.trim() === '') return [];
    document = JSON.parse(text);
  } catch {
    return undefined;
  }
  let selected = document;
  if (options.selector === 'data') {
    if (
      document === null ||
      typeof document !== 'object' ||
      Array.isArray(document) ||
      !('data' in document)
    ) {
      return 'missing';
    }
    selected = document.data;
  } else if (options.selector === undefined) {
    return undefined; // auto-detection on a mutated document: only "agree or fail" is checked
  }
  if (Array.isArray(selected)) return selected as unknown[];
  return selected === null ? [] : [selected];
}

/**
 * Every record carries its bytes as received, and they are its text's UTF-8 — read after the whole body, when the
 * reader has long reused its buffer (staging sends these bytes instead of encoding the text).
 */
function expectBytesAreTheTexts(records: readonly ExtractedRecord[]): void {
  for (const record of records) {
    expect(record.bytes).toBeDefined();
    expect(Buffer.from(record.bytes ?? new Uint8Array()).toString('utf8')).toBe(record.text);
  }
}

describe('extractor vs JSON.parse on random documents', () => {
  it('yields the same records, in the same order, with their exact source text, at any chunking', async () => {
    await fc.assert(
      fc.asyncProperty(documents, chunkings, async (document, chunking) => {
        const expected = JSON.parse(document.text.replace(/^\uFEFF/, '')) as { data?: unknown[] } | unknown[];
        const values = Array.isArray(expected) ? expected : (expected.data ?? []);
        const { records, error } = await run(document.bytes, document.options, chunking);
        expect(error).toBeUndefined();
        expect(records.map((record) => record.text)).toEqual(document.elements);
        expect(records.map((record) => record.value)).toEqual(values);
        for (const record of records) expect(JSON.parse(record.text)).toEqual(record.value);
        expect(records.map((record) => record.issues)).toEqual(document.issues);
        expectBytesAreTheTexts(records);
      }),
      runs(300),
    );
  });

  it('yields the same records for long arrays cut into larger chunks', async () => {
    await fc.assert(
      fc.asyncProperty(longDocuments, fc.integer({ min: 7, max: 5000 }), async (document, chunkSize) => {
        const { records, error } = await run(
          document.bytes,
          { ...document.options, batchRecords: 50 },
          chunkSize,
        );
        expect(error).toBeUndefined();
        expect(records.map((record) => record.text)).toEqual(document.elements);
        for (const record of records) expect(record.value).toEqual(JSON.parse(record.text));
        expect(records.map((record) => record.issues)).toEqual(document.issues);
        expectBytesAreTheTexts(records);
      }),
      runs(60),
    );
  });

  it('fails with a response-shape error on a truncated document, after yielding only correct records', async () => {
    await fc.assert(
      fc.asyncProperty(
        documents,
        chunkings,
        fc.double({ min: 0, max: 1, noNaN: true }),
        async (document, chunking, where) => {
          const cut = Math.floor(where * document.bytes.length);
          const bytes = document.bytes.slice(0, cut);
          const { records, error } = await run(bytes, document.options, chunking);
          if (error === undefined) {
            // Only a cut in the leading or trailing whitespace leaves valid JSON (or an empty body).
            const kept = new TextDecoder().decode(bytes).trim(); // trim() also drops a BOM
            expect(kept === '' || kept === document.text.trim()).toBe(true);
            expect(records.map((record) => record.text)).toEqual(kept === '' ? [] : document.elements);
          } else {
            expectResponseShapeError(error);
            expect(records.map((record) => record.text)).toEqual(document.elements.slice(0, records.length));
          }
        },
      ),
      runs(200),
    );
  });

  it('fails with TRAILING_GARBAGE (or agrees with JSON.parse) when bytes follow the document', async () => {
    const garbage = fc.oneof(
      fc.string({ unit: 'binary', minLength: 1, maxLength: 8 }).map((text) => new TextEncoder().encode(text)),
      fc.uint8Array({ minLength: 1, maxLength: 8 }),
    );
    await fc.assert(
      fc.asyncProperty(documents, chunkings, garbage, async (document, chunking, tail) => {
        const bytes = new Uint8Array([...document.bytes, ...tail]);
        const { records, error } = await run(bytes, document.options, chunking);
        if (tail.every((byte) => byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09)) {
          expect(error).toBeUndefined();
          expect(records.map((record) => record.text)).toEqual(document.elements);
        } else {
          expectResponseShapeError(error);
          expect((error as IngestError).code).toBe('TRAILING_GARBAGE');
        }
      }),
      runs(200),
    );
  });

  it('agrees with JSON.parse or fails cleanly when a byte is changed', async () => {
    const printable = fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff }));
    await fc.assert(
      fc.asyncProperty(
        documents,
        chunkings,
        fc.double({ min: 0, max: 1, noNaN: true }),
        printable,
        async (document, chunking, where, byte) => {
          if (document.bytes.length === 0) return;
          const bytes = document.bytes.slice();
          bytes[Math.min(bytes.length - 1, Math.floor(where * bytes.length))] = byte;
          const { records, error } = await run(bytes, document.options, chunking);
          const expected = oracle(bytes, document.options);
          if (error !== undefined) {
            expectResponseShapeError(error);
            if (Array.isArray(expected)) expect((error as IngestError).code).toBe('AMBIGUOUS_SELECTION');
            if (expected === 'missing')
              expect(['SELECTOR_NOT_FOUND', 'AMBIGUOUS_SELECTION']).toContain((error as IngestError).code);
            return;
          }
          for (const record of records) expect(JSON.parse(record.text)).toEqual(record.value);
          expect(expected).not.toBe('missing');
          if (Array.isArray(expected)) {
            expect(records.map((record) => record.value)).toEqual(expected);
          } else if (document.options.selector !== undefined) {
            // Not strict JSON, yet accepted: only with raw control bytes in strings, which are flagged.
            expect(records.some((record) => record.issues.includes('raw-control-char'))).toBe(true);
          }
        },
      ),
      runs(300),
    );
  });
});
