/**
 * The byte scanner of a record's top level (`src/db/tables/record-top-level.ts`): known cases, then random records —
 * escaped and non-ASCII names, duplicated members, nesting, numbers of every form, whitespace — against what
 * `JSON.parse` says of the same text (object-ness, field names, key texts, depth), and mutated bytes, on which it
 * must return a verdict without throwing (and still agree on all of these whenever the mutation left valid JSON).
 */
import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { numericText } from '../../../src/db/tables/key-text.ts';
import {
  malformedRecord,
  missingKey,
  notAScalarKey,
  notAnObject,
  objectRecord,
  tooLongKey,
  TopLevelScanner,
} from '../../../src/db/tables/record-top-level.ts';

function scanned(text: string, fields: readonly string[]) {
  const scanner = new TopLevelScanner(fields);
  const bytes = Buffer.from(text);
  const verdict = scanner.scan(bytes);
  return {
    verdict,
    keys: fields.map((_, f) => scanner.keyText(bytes, f)),
    names: [...scanner.layout.distinct].sort(),
    depth: scanner.depth,
  };
}

describe('TopLevelScanner on known records', () => {
  it('finds top-level members only, skipping strings and nested values', () => {
    const text =
      ' { "a" : {"id": 1, "s": "\\"id\\": 2"}, "s": "x\\\\", "id" : 12345678901234567891 , "z": [1,{"id":3}] }';
    expect(scanned(text, ['id'])).toEqual({
      verdict: objectRecord,
      keys: ['12345678901234567891'],
      names: ['a', 'id', 's', 'z'],
      depth: 3,
    });
  });

  it('decodes escaped names and takes the last of a duplicated member, as jsonb does', () => {
    expect(scanned('{"\\u0069d":1,"id":2.50}', ['id']).keys).toEqual(['2.50']);
    expect(scanned('{"id":1,"\\u0069d":2}', ['id'])).toMatchObject({ keys: ['2'], names: ['id'] });
    expect(scanned('{"id":1,"x":{"id":5},"id":3}', ['id']).keys).toEqual(['3']);
    expect(scanned('{"id":1,"id":"x"}', ['id']).keys).toEqual(['x']);
    expect(scanned('{"a":1,"b":2.0}', ['b', 'a']).keys).toEqual(['2.0', '1']);
  });

  it('keys strings as themselves, booleans as true/false, numbers as Postgres prints them', () => {
    const text = '{"a":"5","b":5,"c":true,"d":1e3,"e":"caf\\u00e9 😀","f":false}';
    expect(scanned(text, ['a', 'b', 'c', 'd', 'e', 'f']).keys).toEqual([
      '5',
      '5',
      'true',
      '1000',
      'café 😀',
      'false',
    ]);
  });

  it('says why a key has no text', () => {
    const text = `{"n":null,"o":{},"a":[1],"big":1${'0'.repeat(1000)}}`;
    expect(scanned(text, ['n', 'o', 'a', 'big', 'absent']).keys).toEqual([
      missingKey,
      notAScalarKey,
      notAScalarKey,
      tooLongKey,
      missingKey,
    ]);
  });

  it('tells objects from other values and from bytes that are not JSON', () => {
    expect(scanned('{}', ['id'])).toMatchObject({ verdict: objectRecord, names: [], depth: 1 });
    expect(scanned(' [1,{"id":2}] ', ['id']).verdict).toBe(notAnObject);
    expect(scanned('"x"', ['id']).verdict).toBe(notAnObject);
    for (const bad of [
      '',
      '{',
      '{"a"',
      '{"a":}',
      '{"a":1,}',
      '{"a":1 "b":2}',
      '{a:1}',
      '{"a":"x\ty"}',
      '{"a":1}x',
    ])
      expect(scanned(bad, ['a']).verdict).toBe(malformedRecord);
  });

  it('measures depth outside strings only', () => {
    const deep = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);
    expect(scanned(`{"a":${deep(10_000)}}`, []).depth).toBe(10_001);
    expect(scanned(`{"a":"${'['.repeat(30_000)}"}`, []).depth).toBe(1);
    expect(scanned(`{"a":["\\\\",${deep(4)}]}`, []).depth).toBe(6);
  });

  it('keeps one layout for records with the same names and tells records with other names apart', () => {
    const scanner = new TopLevelScanner(['id']);
    const layouts = [
      '{"id":1,"a":2}',
      '{"id":2,"a":3}',
      '{"id":3}',
      '{"id":4,"a":5,"b":6}',
      '{"id":5,"a":1}',
    ].map((text) => {
      expect(scanner.scan(Buffer.from(text))).toBe(objectRecord);
      return scanner.layout;
    });
    expect(layouts[1]).toBe(layouts[0]);
    expect(layouts[4]).toBe(layouts[0]);
    expect(layouts.map((l) => l.names)).toEqual([
      ['id', 'a'],
      ['id', 'a'],
      ['id'],
      ['id', 'a', 'b'],
      ['id', 'a'],
    ]);
  });
});

/** A JSON value whose numbers are raw tokens: the text and, for the oracle, its depth. */
interface Generated {
  readonly text: string;
  readonly depth: number;
}

const space = fc.constantFrom('', '', '', ' ', '\n  ', '\t');

const numberToken = fc.oneof(
  fc.integer().map(String),
  fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(String),
  fc.constantFrom(
    '-0',
    '0',
    '1.0',
    '1e3',
    '1E+3',
    '1.50e1',
    '-12.3400',
    '1e-3',
    '100e-2',
    '0e5',
    '-0.0',
    '2E-2',
  ),
  fc
    .tuple(fc.integer({ min: -999, max: 999 }), fc.nat(999), fc.integer({ min: -20, max: 20 }))
    .map(([a, b, e]) => `${a}.${b}e${e}`),
);

const text = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  // U+0000 (spelled `\u0000`) and a backslash before `u0000` (spelled `\\u0000`: not an escape).
  fc.constantFrom('id', '"', '\\', 'a"b', '\u0000', '\\u0000', 'é', '😀', '{"id":1}', ''),
);

/** A string spelled as JSON: plainly, or with some characters as `\u` escapes. */
function spell(value: string, escapeAll: boolean): string {
  if (!escapeAll) return JSON.stringify(value);
  let out = '"';
  for (let i = 0; i < value.length; i++) out += `\\u${value.charCodeAt(i).toString(16).padStart(4, '0')}`;
  return `${out}"`;
}

const scalar: fc.Arbitrary<Generated> = fc.oneof(
  numberToken.map((t) => ({ text: t, depth: 0 })),
  fc.constantFrom('true', 'false', 'null').map((t) => ({ text: t, depth: 0 })),
  fc.tuple(text, fc.boolean()).map(([s, e]) => ({ text: spell(s, e), depth: 0 })),
);

const { value } = fc.letrec<{ value: Generated }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('value'), { maxLength: 4 }).map((items) => ({
      text: `[${items.map((i) => i.text).join(',')}]`,
      depth: 1 + Math.max(0, ...items.map((i) => i.depth)),
    })),
    fc.array(fc.tuple(text, fc.boolean(), tie('value')), { maxLength: 4 }).map((members) => ({
      text: `{${members.map(([n, e, v]) => `${spell(n, e)}:${v.text}`).join(',')}}`,
      depth: 1 + Math.max(0, ...members.map(([, , v]) => v.depth)),
    })),
  ),
}));

const names = fc.constantFrom('id', 'k', 'é', '😀', '', 'a"b', 'x');

/** A record: top-level members (names from a small pool, so they repeat), spelled with random whitespace. */
const records = fc
  .array(fc.tuple(names, fc.boolean(), value, space, space), { maxLength: 8 })
  .chain((members) =>
    fc.tuple(space, space).map(([before, after]) => ({
      members,
      text: `${before}{${members.map(([n, e, v, s1, s2]) => `${s1}${spell(n, e)}${s2}:${s1}${v.text}${s2}`).join(',')}}${after}`,
    })),
  );

const fields = ['id', 'k', 'é'];

/** What the scanner should say, from `JSON.parse` and the generated tokens. */
function oracle(record: {
  readonly members: readonly [string, boolean, Generated, string, string][];
  readonly text: string;
}) {
  const parsed = JSON.parse(record.text) as Record<string, unknown>;
  const last = new Map(record.members.map(([n, , v]) => [n, v] as const));
  return {
    verdict: objectRecord,
    names: Object.keys(parsed).sort(),
    depth: 1 + Math.max(0, ...record.members.map(([, , v]) => v.depth)),
    keys: fields.map((field) => {
      const v = parsed[field];
      if (v === undefined || v === null) return missingKey;
      if (typeof v === 'string') return v;
      if (typeof v === 'boolean') return String(v);
      if (typeof v === 'object') return notAScalarKey;
      return numericText((last.get(field) as Generated).text) ?? tooLongKey;
    }),
  };
}

/** Deepest nesting of arrays and objects in a JSON text, strings removed (duplicated members included). */
function textDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  for (const c of text.replace(/"(?:[^"\\]|\\.)*"/g, '""')) {
    if (c === '{' || c === '[') {
      depth += 1;
      if (depth > deepest) deepest = depth;
    } else if (c === '}' || c === ']') {
      depth -= 1;
    }
  }
  return deepest;
}

describe('TopLevelScanner against JSON.parse', () => {
  it('agrees on random records', () => {
    fc.assert(
      fc.property(records, (record) => {
        expect(scanned(record.text, fields)).toEqual(oracle(record));
      }),
      { numRuns: 2000 },
    );
  });

  it('agrees along a batch, where each record is compared with the layout of the one before', () => {
    fc.assert(
      fc.property(fc.array(records, { maxLength: 12 }), (batch) => {
        const scanner = new TopLevelScanner(fields);
        for (const record of batch) {
          const bytes = Buffer.from(record.text);
          expect(scanner.scan(bytes)).toBe(objectRecord);
          const expected = oracle(record);
          expect([...scanner.layout.distinct].sort()).toEqual(expected.names);
          expect(fields.map((_, f) => scanner.keyText(bytes, f))).toEqual(expected.keys);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('returns a verdict on mutated bytes, and agrees whenever they are still JSON', () => {
    fc.assert(
      fc.property(
        records,
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        fc.boolean(),
        (record, where, byte, cut) => {
          const bytes = Buffer.from(record.text);
          if (bytes.length === 0) return;
          const at = where % bytes.length;
          const mutated = cut ? bytes.subarray(0, at) : Buffer.from(bytes);
          if (!cut) mutated[at] = byte;
          const scanner = new TopLevelScanner(fields);
          const verdict = scanner.scan(mutated);
          for (let f = 0; f < fields.length; f++) scanner.keyText(mutated, f);
          let parsed: unknown;
          try {
            parsed = JSON.parse(mutated.toString('utf8'));
          } catch {
            return;
          }
          const text = mutated.toString('utf8');
          if (!Buffer.from(text).equals(mutated)) return;
          const isObject = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed);
          expect(verdict).toBe(isObject ? objectRecord : notAnObject);
          if (!isObject) return;
          const object = parsed as Record<string, unknown>;
          expect([...scanner.layout.distinct].sort()).toEqual(Object.keys(object).sort());
          expect(scanner.depth).toBe(textDepth(text));
          for (let f = 0; f < fields.length; f++) {
            const key = scanner.keyText(mutated, f);
            const v = object[fields[f] as string];
            if (v === undefined || v === null) expect(key).toBe(missingKey);
            else if (typeof v === 'object') expect(key).toBe(notAScalarKey);
            // The token is not at hand here: Postgres's text of it must still be the same number — or, for a number
            // whose digits written out pass the limit (a mutated exponent: JSON.parse rounds it to 0 or Infinity),
            // no key at all.
            else if (typeof v === 'number' && key === tooLongKey)
              expect(v === 0 || !Number.isFinite(v)).toBe(true);
            else if (typeof v === 'number') expect(typeof key === 'string' && Number(key) === v).toBe(true);
            else expect(key).toBe(typeof v === 'string' ? v : JSON.stringify(v));
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});
