/**
 * Fields of a parsed record by dotted path (`user.id`; a leading `$.` is allowed; a numeric segment indexes a list):
 * how templates read a parent record's fields, and how a run keeps just the fields a child needs and hands them
 * back in the record's shape. No imports: every layer may use it.
 */

function segmentsOf(path: string): string[] {
  return (path.startsWith('$.') ? path.slice(2) : path).split('.');
}

/** The value at `path` of `record`, or `undefined` when the record has no such field. */
export function readField(record: unknown, path: string): unknown {
  let current: unknown = record;
  for (const segment of segmentsOf(path)) {
    if (current === null || typeof current !== 'object') return undefined;
    if (Array.isArray(current)) {
      if (!/^\d+$/.test(segment)) return undefined;
      current = current[Number(segment)];
    } else {
      if (!Object.hasOwn(current, segment)) return undefined;
      current = (current as Record<string, unknown>)[segment];
    }
  }
  return current;
}

/** The `paths` a record has, with their values (a missing field is left out, a null one kept). */
export function pickFields(record: unknown, paths: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const path of paths) {
    const value = readField(record, path);
    if (value !== undefined) out[path] = value;
  }
  return out;
}

/**
 * A record holding `fields` (dotted path → value) where `readField` finds them: `{ "user.id": 7 }` becomes
 * `{ user: { id: 7 } }`. What `pickFields` kept of a record reads back the same through `readField`.
 */
export function recordOfFields(fields: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [path, value] of Object.entries(fields)) {
    const segments = segmentsOf(path);
    let node = root;
    for (const segment of segments.slice(0, -1)) {
      const next = node[segment];
      if (next === null || typeof next !== 'object') node[segment] = {};
      node = node[segment] as Record<string, unknown>;
    }
    node[segments[segments.length - 1] as string] = value;
  }
  return root;
}
