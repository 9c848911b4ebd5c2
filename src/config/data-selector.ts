/**
 * `data_selector` and `cursor_path` as JSONPaths that select one value: checked when a source is loaded and
 * normalised for the plan. A data selector must select one array (its elements are the records), so the forms real
 * configs use — `data`, `$.data`, `$.data[*]`, `data.items`, `$.data.items[*]`, `$['odd key']` — become the dotted
 * form the extractor reads (`data`, `data.items`, `$['odd key']`); anything that could select several arrays or
 * filter (recursive descent `..`, filters `[?(…)]`, unions, indexes, slices, a wildcard anywhere but at the end) is
 * refused with the reason.
 */

/** A name that needs no quoting (the identifier syntax of jsonpath-ng, which dlt uses; the extractor's too). */
const plainName = /^[A-Za-z_@][A-Za-z0-9_@-]*/;

/** The outcome: the keys from the root (and whether a final `[*]` was written), or why the path is refused. */
type ParsedPath =
  | { readonly ok: true; readonly keys: readonly string[]; readonly wildcard: boolean }
  | { readonly ok: false; readonly reason: string };

const recursive = 'recursive descent (..) could select arrays at any depth';
const filter = 'filters ([?(…)]) are not supported: select the array itself';
const innerWildcard =
  'a wildcard before the last key selects one array per element (several arrays): select one array';

function readQuoted(source: string, at: number): { key: string; end: number } | string {
  const quote = source[at + 1];
  let key = '';
  let i = at + 2;
  for (;;) {
    const c = source[i];
    if (c === undefined) return `unterminated quoted key at position ${at}`;
    if (c === quote) break;
    if (c === '\\') {
      const escaped = source[i + 1];
      if (escaped === undefined) return `unterminated quoted key at position ${at}`;
      key += escaped;
      i += 2;
    } else {
      key += c;
      i += 1;
    }
  }
  if (source[i + 1] === ',') return 'unions ([a,b]) select several values: select one array';
  if (source[i + 1] !== ']') return `expected "]" at position ${i + 1}`;
  return { key, end: i + 2 };
}

/** Splits a JSONPath into the keys from the root; a `[*]`/`.*` is allowed only at the very end. */
function parsePath(selector: string): ParsedPath {
  const source = selector.trim();
  if (source === '') return { ok: false, reason: 'it is empty; use "$" for the whole body' };
  if (source.includes('..')) return { ok: false, reason: recursive };
  if (source.includes('[?')) return { ok: false, reason: filter };
  const keys: string[] = [];
  let wildcard = false;
  let i = source.startsWith('$') ? 1 : 0;
  let expectName = i === 0 && source[0] !== '[';
  while (i < source.length) {
    if (wildcard) return { ok: false, reason: innerWildcard };
    const c = source[i];
    if (expectName || c === '.') {
      const at = expectName ? i : i + 1;
      expectName = false;
      const rest = source.slice(at);
      if (rest.startsWith('*')) {
        wildcard = true;
        i = at + 1;
        continue;
      }
      const match = plainName.exec(rest);
      if (match === null) {
        const shown = rest === '' ? 'the end' : JSON.stringify(rest.slice(0, 20));
        return {
          ok: false,
          reason: `expected a key name at position ${at}, found ${shown} (quote odd keys: ['my key'])`,
        };
      }
      keys.push(match[0]);
      i = at + match[0].length;
    } else if (c === '[') {
      const next = source[i + 1];
      if (next === '*' && source[i + 2] === ']') {
        wildcard = true;
        i += 3;
      } else if (next === "'" || next === '"') {
        const quoted = readQuoted(source, i);
        if (typeof quoted === 'string') return { ok: false, reason: quoted };
        keys.push(quoted.key);
        i = quoted.end;
      } else {
        const close = source.indexOf(']', i);
        const inside = source.slice(i, close < 0 ? undefined : close + 1);
        return {
          ok: false,
          reason: `${JSON.stringify(inside)}: ${inside.includes(',') ? 'unions select several values' : 'indexes and slices select elements, not the array of records'}; only quoted keys and a final [*] are supported in brackets`,
        };
      }
    } else {
      return { ok: false, reason: `unexpected ${JSON.stringify(c)} at position ${i}` };
    }
  }
  return { ok: true, keys, wildcard };
}

/** The form the extractor reads: `$` (whole body), dotted plain names, else `$` with `.name` / `['key']` parts. */
function formatKeys(keys: readonly string[]): string {
  if (keys.length === 0) return '$';
  if (keys.every((key) => plainName.exec(key)?.[0] === key)) return keys.join('.');
  let out = '$';
  for (const key of keys) {
    out +=
      plainName.exec(key)?.[0] === key
        ? `.${key}`
        : `['${key.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}']`;
  }
  return out;
}

/** A data selector normalised for the plan, or why it is refused. */
export type SelectorCheck =
  { readonly ok: true; readonly normalised: string } | { readonly ok: false; readonly reason: string };

/** Checks a `data_selector` selects one array and normalises it (`$.data.items[*]` → `data.items`). */
export function normaliseDataSelector(selector: string): SelectorCheck {
  const parsed = parsePath(selector);
  if (!parsed.ok) return parsed;
  if (parsed.wildcard && parsed.keys.length === 0) return { ok: true, normalised: '$' };
  return { ok: true, normalised: formatKeys(parsed.keys) };
}

/**
 * A `cursor_path` as the dotted path the plan holds (`$.meta.updated_at` → `meta.updated_at`), or why it is refused:
 * it must name one field of each record.
 */
export function normaliseCursorPath(path: string): SelectorCheck {
  const parsed = parsePath(path);
  if (!parsed.ok) return parsed;
  if (parsed.wildcard) return { ok: false, reason: 'a wildcard selects several values: name one field' };
  if (parsed.keys.length === 0) return { ok: false, reason: 'it selects the whole record: name one field' };
  if (parsed.keys.some((key) => key === '' || key.includes('.'))) {
    return { ok: false, reason: 'a key with a dot (or an empty key) cannot be part of a dotted path' };
  }
  return { ok: true, normalised: parsed.keys.join('.') };
}
