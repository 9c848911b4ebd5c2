/**
 * Property tests of `capture`: for random documents, capturing never changes the records, and every captured path
 * gives what `JSON.parse` of the whole body has there (scalars and objects; arrays are never captured).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDataSelector, parseDataSelector } from '../../../src/http/extract/data-selector.ts';
import type { CapturedValue } from '../../../src/http/extract/capture.ts';
import type { ExtractOptions } from '../../../src/http/extract/types.ts';
import { extract } from './helpers.ts';
import { createRandom, jsonNode, writeJson } from './json-documents.ts';
import type { JsonNode } from './json-documents.ts';

const scale = Number(process.env['EXTRACT_FUZZ_SCALE'] ?? '1');

function hasDuplicateKeys(node: JsonNode): boolean {
  if (node.kind === 'array') return node.items.some(hasDuplicateKeys);
  if (node.kind !== 'object') return false;
  const keys = node.entries.map(([key]) => key);
  return new Set(keys).size !== keys.length || node.entries.some(([, value]) => hasDuplicateKeys(value));
}

/** Every path of object keys (not through arrays) of a parsed value, that a JSONPath can name. */
function pathsOf(value: unknown, prefix: readonly string[] = []): (readonly string[])[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([key, item]) => {
    const path = [...prefix, key];
    let nameable = true;
    try {
      nameable = JSON.stringify(parseDataSelector(formatDataSelector(path))) === JSON.stringify(path);
    } catch {
      nameable = false;
    }
    return nameable ? [path, ...pathsOf(item, path)] : [];
  });
}

function valueAt(value: unknown, path: readonly string[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
    if (!Object.hasOwn(current, key)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return Array.isArray(current) ? undefined : current;
}

function lastAt(captured: readonly CapturedValue[], path: readonly string[]): unknown {
  const wanted = JSON.stringify(path);
  return captured.findLast((entry) => JSON.stringify(entry.path) === wanted)?.value;
}

const documents = fc
  .record({
    before: fc.array(fc.tuple(fc.string({ maxLength: 4 }), jsonNode), { maxLength: 5 }),
    after: fc.array(fc.tuple(fc.string({ maxLength: 4 }), jsonNode), { maxLength: 5 }),
    records: fc.array(jsonNode, { maxLength: 5 }),
    recordKey: fc.constantFrom('data', 'items', 'stuff'),
    nested: fc.boolean(),
    beside: fc.array(fc.tuple(fc.string({ maxLength: 4 }), jsonNode), { maxLength: 3 }),
    seed: fc.integer(),
  })
  .map(({ before, after, records, recordKey, nested, beside, seed }) => {
    const list: [string, JsonNode] = [recordKey, { kind: 'array', items: records }];
    // The records at the root, or one level down next to other members (`wrap.data`).
    const holder: [string, JsonNode] = nested
      ? ['wrap', { kind: 'object', entries: [...beside.filter(([key]) => key !== recordKey), list] }]
      : list;
    const root: JsonNode = {
      kind: 'object',
      entries: [
        ...before.filter(([key]) => key !== holder[0]),
        holder,
        ...after.filter(([key]) => key !== holder[0]),
      ],
    };
    const selector = nested ? `wrap.${recordKey}` : recordKey;
    return { root, text: writeJson(root, createRandom(seed)), selector };
  })
  .filter(({ root }) => !hasDuplicateKeys(root));

describe('capture properties', () => {
  it('captured paths agree with JSON.parse, and records are the same as without capture', async () => {
    await fc.assert(
      fc.asyncProperty(
        documents,
        fc.boolean(),
        fc.integer({ min: 1, max: 64 }),
        async (document, auto, chunk) => {
          const parsed: unknown = JSON.parse(document.text);
          const paths = pathsOf(parsed);
          const options: ExtractOptions = auto ? {} : { selector: document.selector };
          const plain = await extract(document.text, options, chunk);
          const captured = await extract(
            document.text,
            { ...options, capture: { paths: paths.map((path) => formatDataSelector(path)) } },
            chunk,
          );
          expect(captured.records).toEqual(plain.records);
          expect(captured.outcome.selector).toBe(plain.outcome.selector);
          for (const path of paths) {
            // An object that holds the selected records is not captured whole (documented); elsewhere a
            // captured value is what JSON.parse has there.
            const selected = parseDataSelector(captured.outcome.selector);
            const holdsRecords =
              captured.outcome.selected === 'array' &&
              path.length < selected.length &&
              path.every((key, i) => key === selected[i]);
            if (holdsRecords) continue;
            expect(lastAt(captured.outcome.captured ?? [], path)).toEqual(valueAt(parsed, path));
          }
        },
      ),
      { numRuns: 150 * scale },
    );
  });
});
