/**
 * Fields by dotted path: what a template reads from a parent record is what a run keeps of it and hands back.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pickFields, readField, recordOfFields } from '../../../src/shared/record-fields.ts';

describe('record fields', () => {
  it('reads dotted paths, list indexes and a leading $.', () => {
    const record = { a: { b: [10, { c: 'x' }] }, n: null };
    expect(readField(record, 'a.b.0')).toBe(10);
    expect(readField(record, '$.a.b.1.c')).toBe('x');
    expect(readField(record, 'n')).toBeNull();
    expect(readField(record, 'n.x')).toBeUndefined();
    expect(readField(record, 'missing')).toBeUndefined();
    expect(readField(record, 'a.b.c')).toBeUndefined();
  });

  it('does not read inherited properties', () => {
    expect(readField({}, 'constructor')).toBeUndefined();
    expect(readField({ a: {} }, 'a.toString')).toBeUndefined();
  });

  it('keeps present fields (null included) and leaves missing ones out', () => {
    expect(pickFields({ id: 1, owner: null }, ['id', 'owner', 'owner.id', 'name'])).toEqual({
      id: 1,
      owner: null,
    });
  });

  it('hands kept fields back where readField finds them', () => {
    const path = fc
      .array(fc.constantFrom('a', 'b', 'c'), { minLength: 1, maxLength: 3 })
      .map((s) => s.join('.'));
    fc.assert(
      fc.property(fc.dictionary(path, fc.oneof(fc.integer(), fc.string(), fc.constant(null))), (fields) => {
        // Paths where one is a prefix of another cannot both hold a leaf; keep the ones that can.
        const paths = Object.keys(fields).filter(
          (p) => !Object.keys(fields).some((q) => q !== p && q.startsWith(`${p}.`)),
        );
        const kept = Object.fromEntries(paths.map((p) => [p, fields[p]]));
        const record = recordOfFields(kept);
        for (const p of paths) expect(readField(record, p)).toEqual(kept[p]);
      }),
    );
  });
});
