/**
 * `include_from_parent`: parent fields copied into each child record under dlt's names (`_<parent>_<field>`). The
 * record's raw text stays the source of truth (big numbers stay exact), so the fields are appended to the text of the
 * object, after its own members: where the record already has such a name, the parent's value wins, as in dlt and
 * as jsonb reads duplicate names (the last one). A field the parent record does not have is not added; a record that
 * is not an object is left as it is (staging rejects it, naming the reason).
 */
import type { ExtractedRecord } from '../shared/records.ts';
import type { ResolvedParentField } from '../shared/plan.ts';

/** The (name, value) pairs to add to each child record of one parent record (`fields`: dotted path → value). */
export function parentAdditions(
  include: readonly ResolvedParentField[],
  fields: Readonly<Record<string, unknown>>,
): readonly (readonly [string, unknown])[] {
  return include.flatMap(({ field, as }) =>
    Object.hasOwn(fields, field) ? [[as, fields[field]] as const] : [],
  );
}

/** `record` with `additions` as its last members (the record itself when there are none or it is no object). */
export function withParentFields(
  record: ExtractedRecord,
  additions: readonly (readonly [string, unknown])[],
): ExtractedRecord {
  // Nothing to add: the record is not even parsed (staging needs only its bytes).
  if (additions.length === 0) return record;
  const { value } = record;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return record;
  const text = record.text.trimEnd();
  if (!text.endsWith('}')) return record;
  const members = additions.map(([name, v]) => `${JSON.stringify(name)}:${JSON.stringify(v)}`).join(',');
  const empty = Object.keys(value).length === 0;
  return {
    text: `${text.slice(0, -1)}${empty ? '' : ','}${members}}`,
    value: { ...(value as Record<string, unknown>), ...Object.fromEntries(additions) },
    issues: record.issues,
  };
}
