/**
 * `include_from_parent` on a child record: the parent's fields are appended to the record's raw text under dlt's
 * names, win over a same-named field, keep big numbers in the text exact, and leave a record that is not an object
 * as it is; a field the parent record lacks is not added; with nothing to add, the record is not even parsed.
 */
import { describe, expect, it } from 'vitest';
import { parentAdditions, withParentFields } from '../../../src/activities/parent-fields.ts';
import type { ExtractedRecord } from '../../../src/shared/records.ts';

const record = (text: string): ExtractedRecord => ({ text, value: JSON.parse(text) as unknown, issues: [] });
const include = [
  { field: 'id', as: '_projects_id' },
  { field: 'owner.name', as: '_projects_owner__name' },
];

describe('include_from_parent', () => {
  it('adds the parent fields the parent record has, in the order configured', () => {
    expect(parentAdditions(include, { id: 7, 'owner.name': 'Ada' })).toEqual([
      ['_projects_id', 7],
      ['_projects_owner__name', 'Ada'],
    ]);
    expect(parentAdditions(include, { id: 7 })).toEqual([['_projects_id', 7]]);
    expect(parentAdditions(include, { id: null })).toEqual([['_projects_id', null]]);
  });

  it('appends them to the raw text, keeping the record’s own text (big numbers) exact', () => {
    const child = withParentFields(record('{"id": 12345678901234567890, "title":"x"}'), [
      ['_projects_id', 7],
    ]);
    expect(child.text).toBe('{"id": 12345678901234567890, "title":"x","_projects_id":7}');
    expect(child.value).toEqual({
      ...(JSON.parse('{"id": 12345678901234567890}') as object),
      title: 'x',
      _projects_id: 7,
    });
  });

  it('lets the parent value win over a field of the same name, as jsonb reads the text', () => {
    const child = withParentFields(record('{"_projects_id":"mine"}'), [['_projects_id', 7]]);
    expect((JSON.parse(child.text) as Record<string, unknown>)['_projects_id']).toBe(7);
    expect(child.value).toEqual({ _projects_id: 7 });
  });

  it('handles an empty object and trailing whitespace', () => {
    expect(withParentFields(record('{ } '), [['_p_a', 'x']]).text).toBe('{ "_p_a":"x"}');
  });

  it('does not parse a record when there is nothing to add', () => {
    const unread: ExtractedRecord = {
      text: '{"a":1,}',
      get value(): unknown {
        throw new Error('the value was read');
      },
      issues: [],
    };
    expect(withParentFields(unread, [])).toBe(unread);
  });

  it('leaves records that are not objects, and records with nothing to add, as they are', () => {
    const list = record('[1,2]');
    expect(withParentFields(list, [['_p_a', 1]])).toBe(list);
    const plain = record('{"a":1}');
    expect(withParentFields(plain, [])).toBe(plain);
  });
});
