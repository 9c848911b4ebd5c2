/**
 * dlt's `data_selector` (a JSONPath) reduced to what selecting records from one response needs: a path of object
 * keys from the root. Everything else JSONPath can say (wildcards, indexes, slices, filters, recursive descent,
 * unions) is refused with a `config` error when the selector is compiled, never discovered mid-response.
 */
import { IngestError } from '../../errors.ts';

/** The object keys from the root to the selected value; empty selects the whole body. */
export type SelectorPath = readonly string[];

/** A name that needs no quoting: the identifier syntax of jsonpath-ng, which dlt uses. */
const plainName = /^[A-Za-z_@][A-Za-z0-9_@-]*/;

/**
 * Compiles a `data_selector` such as `data`, `$.data`, `results.items`, `$['odd.key']` or `["a"]["b"]`.
 * Throws an `IngestError` (category `config`, code `INVALID_DATA_SELECTOR`) that names the unsupported part.
 */
export function parseDataSelector(selector: string): SelectorPath {
  const source = selector.trim();
  if (source === '') throw selectorError(selector, 'it is empty; use "$" for the whole body');
  const keys: string[] = [];
  let i = 0;
  if (source.startsWith('$')) {
    i = 1;
  } else if (source[0] !== '[') {
    i = readName(selector, source, 0, keys);
  }
  while (i < source.length) {
    const c = source[i];
    if (c === '.') {
      if (source[i + 1] === '.') throw selectorError(selector, 'recursive descent (..) is not supported');
      i = readName(selector, source, i + 1, keys);
    } else if (c === '[') {
      i = readBracket(selector, source, i, keys);
    } else {
      throw selectorError(selector, `unexpected ${JSON.stringify(c)} at position ${i}`);
    }
  }
  return Object.freeze(keys);
}

/** The canonical JSONPath of a path: `$`, `$.data`, `$['odd.key']`. */
export function formatDataSelector(path: SelectorPath): string {
  let out = '$';
  for (const key of path) {
    const plain = plainName.exec(key);
    out += plain?.[0] === key ? `.${key}` : `['${key.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}']`;
  }
  return out;
}

function readName(selector: string, source: string, at: number, keys: string[]): number {
  const rest = source.slice(at);
  if (rest.startsWith('*')) throw wildcardError(selector);
  const match = plainName.exec(rest);
  if (match === null) {
    const shown = rest === '' ? 'the end' : JSON.stringify(rest.slice(0, 20));
    throw selectorError(
      selector,
      `expected a key name at position ${at}, found ${shown} (quote odd keys: ['my key'])`,
    );
  }
  keys.push(match[0]);
  return at + match[0].length;
}

function readBracket(selector: string, source: string, at: number, keys: string[]): number {
  const quote = source[at + 1];
  if (quote === '*') throw wildcardError(selector);
  if (quote !== "'" && quote !== '"') {
    const inside = source.slice(at, source.indexOf(']', at) + 1 || undefined);
    throw selectorError(
      selector,
      `${JSON.stringify(inside)}: only quoted keys are supported in brackets (indexes, slices, filters and unions are not)`,
    );
  }
  let key = '';
  let i = at + 2;
  for (;;) {
    const c = source[i];
    if (c === undefined) throw selectorError(selector, `unterminated quoted key at position ${at}`);
    if (c === quote) break;
    if (c === '\\') {
      const escaped = source[i + 1];
      if (escaped === undefined) throw selectorError(selector, `unterminated quoted key at position ${at}`);
      key += escaped;
      i += 2;
    } else {
      key += c;
      i += 1;
    }
  }
  if (source[i + 1] !== ']') throw selectorError(selector, `expected "]" at position ${i + 1}`);
  keys.push(key);
  return i + 2;
}

function wildcardError(selector: string): IngestError {
  return selectorError(
    selector,
    'wildcards ([*], .*) are not supported: select the array itself (e.g. "data"), its elements become the records',
  );
}

function selectorError(selector: string, reason: string): IngestError {
  return new IngestError(
    'config',
    'INVALID_DATA_SELECTOR',
    `data_selector ${JSON.stringify(selector)}: ${reason}`,
    {
      details: { selector, reason },
    },
  );
}
