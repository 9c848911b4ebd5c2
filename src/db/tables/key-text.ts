/**
 * The text of a primary key value exactly as the merge reads it: `value ->> field` of the record's jsonb. Staging
 * dedupes, counts and probes by the same text, so the two must agree to the character — two big integer ids that
 * `JSON.parse` rounds to the same double must never collapse into one key.
 *
 * A string key is its (unescaped) string; `true`/`false` are themselves. A number is NOT `String(parsed)`: its raw
 * token is taken from the record's raw text (a small scanner of the top-level object) and written the way Postgres
 * prints a jsonb number (`numeric_out`): digits kept exactly, no exponent, the scale of the input
 * (`1.0` → `1.0`, `1e3` → `1000`, `1.50e1` → `15.0`, `-0` → `0`). So `5` and `"5"` key to the same text `5`, while
 * `1` and `1.0` are different keys — as in the table.
 */

/** The key text of one field, or why there is none. */
export type KeyText =
  | { readonly ok: true; readonly text: string }
  | { readonly ok: false; readonly code: 'invalid-primary-key'; readonly reason: string };

/** Longest numeric key we write (digits before plus after the point): beyond it the record is rejected. */
export const maxNumericKeyDigits = 1000;

/**
 * The key text of each primary key field of a record (a parsed JSON object and its raw text). Fields must be
 * present and scalar (the caller checked); numbers are read from `text`.
 */
export function primaryKeyTexts(
  value: Readonly<Record<string, unknown>>,
  text: string,
  fields: readonly string[],
): readonly KeyText[] {
  let tokens: readonly (string | undefined)[] | undefined;
  return fields.map((field, index): KeyText => {
    const key = value[field];
    if (typeof key === 'string') return { ok: true, text: key };
    if (typeof key === 'boolean') return { ok: true, text: key ? 'true' : 'false' };
    if (typeof key !== 'number') {
      return {
        ok: false,
        code: 'invalid-primary-key',
        reason: `primary key field "${field}" is not a scalar`,
      };
    }
    tokens ??= topLevelNumberTokens(text, fields);
    const token = tokens[index];
    const normalised = token === undefined ? undefined : numericText(token);
    if (normalised === undefined) {
      return {
        ok: false,
        code: 'invalid-primary-key',
        reason: `primary key field "${field}" is a number that cannot be keyed exactly (more than ${maxNumericKeyDigits} digits)`,
      };
    }
    return { ok: true, text: normalised };
  });
}

/**
 * A JSON number token as Postgres prints the numeric it parses to (`numeric_in` then `numeric_out`), or undefined
 * when it has more than {@link maxNumericKeyDigits} digits that way (or is not a JSON number).
 */
export function numericText(token: string): string | undefined {
  if (isPlainInteger(token)) return token;
  const match = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(token);
  if (match === null) return undefined;
  const [, sign = '', whole = '', fraction = '', exponentText] = match;
  const exponent = exponentText === undefined ? 0 : Number(exponentText);
  if (!Number.isSafeInteger(exponent) || Math.abs(exponent) > 2 * maxNumericKeyDigits) return undefined;
  const digits = whole + fraction;
  // Digits before the point once the exponent is applied; the scale is what numeric_in keeps.
  const point = whole.length + exponent;
  const scale = Math.max(0, fraction.length - exponent);
  let integerPart: string;
  let fractionPart: string;
  if (point <= 0) {
    integerPart = '0';
    fractionPart = '0'.repeat(-point) + digits;
  } else if (point >= digits.length) {
    integerPart = digits + '0'.repeat(point - digits.length);
    fractionPart = '';
  } else {
    integerPart = digits.slice(0, point);
    fractionPart = digits.slice(point);
  }
  fractionPart = fractionPart.slice(0, scale).padEnd(scale, '0');
  integerPart = integerPart.replace(/^0+(?=\d)/, '');
  if (integerPart.length + fractionPart.length > maxNumericKeyDigits) return undefined;
  const zero = /^0*$/.test(integerPart + fractionPart);
  return `${zero ? '' : sign}${integerPart}${fractionPart === '' ? '' : `.${fractionPart}`}`;
}

/** An integer as Postgres prints it already (no sign of zero, no leading zero, no point or exponent): most keys. */
function isPlainInteger(token: string): boolean {
  const start = token.charCodeAt(0) === 0x2d ? 1 : 0;
  const length = token.length;
  if (length === start || length - start > maxNumericKeyDigits) return false;
  const first = token.charCodeAt(start);
  if (first === 0x30) return length === 1; // "0" (but not "-0", "01")
  for (let i = start; i < length; i += 1) {
    const c = token.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/**
 * The raw tokens of the top-level members `fields` of a JSON object text whose values are numbers. The text is
 * valid JSON (`JSON.parse` accepted it). A duplicated member counts by its last occurrence, as in jsonb.
 */
export function topLevelNumberTokens(
  text: string,
  fields: readonly string[],
): readonly (string | undefined)[] {
  const found: (string | undefined)[] = fields.map(() => undefined);
  let seen = 0;
  let i = skipSpace(text, 0);
  if (text.charCodeAt(i) !== 0x7b /* { */) return found;
  i = skipSpace(text, i + 1);
  while (i < text.length && text.charCodeAt(i) === 0x22 /* " */) {
    const keyEnd = stringEnd(text, i);
    const rawKey = text.slice(i, keyEnd);
    const name = rawKey.includes('\\') ? (JSON.parse(rawKey) as string) : rawKey.slice(1, -1);
    i = skipSpace(text, keyEnd);
    i = skipSpace(text, i + 1); // the colon
    const valueEnd = valueEndAt(text, i);
    const index = fields.indexOf(name);
    if (index !== -1) {
      const c = text.charCodeAt(i);
      if (found[index] === undefined) seen += 1;
      // A non-number value (a duplicate member spelled as a string, say) is recorded as '' (no token).
      found[index] = c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39) ? text.slice(i, valueEnd) : '';
    }
    i = skipSpace(text, valueEnd);
    if (text.charCodeAt(i) !== 0x2c /* , */) break;
    i = skipSpace(text, i + 1);
    // Every field found, and no later member can be one of them again (no literal spelling, no escape that could
    // spell one): the rest of the record cannot change the answer. Native searches, so most records stop here.
    if (seen === fields.length && cannotRecur(text, i, fields)) break;
  }
  return found.map((token) => (token === '' ? undefined : token));
}

function cannotRecur(text: string, from: number, fields: readonly string[]): boolean {
  if (text.indexOf('\\', from) !== -1) return false;
  for (const field of fields) if (text.indexOf(`"${field}"`, from) !== -1) return false;
  return true;
}

function skipSpace(text: string, at: number): number {
  let i = at;
  for (;;) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i;
    i += 1;
  }
}

/** The index after the closing quote of the JSON string starting at `at` (its opening quote). */
export function stringEnd(text: string, at: number): number {
  let i = at + 1;
  for (;;) {
    const quote = text.indexOf('"', i);
    if (quote === -1) return text.length;
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === 0x5c) backslashes += 1;
    if ((backslashes & 1) === 0) return quote + 1;
    i = quote + 1;
  }
}

/** The index after the JSON value starting at `at`. */
function valueEndAt(text: string, at: number): number {
  const c = text.charCodeAt(at);
  if (c === 0x22) return stringEnd(text, at);
  if (c !== 0x7b && c !== 0x5b) {
    let i = at;
    for (;;) {
      const d = text.charCodeAt(i);
      if (Number.isNaN(d) || d === 0x2c || d === 0x7d || d === 0x5d || d <= 0x20) return i;
      i += 1;
    }
  }
  let depth = 0;
  let i = at;
  while (i < text.length) {
    const d = text.charCodeAt(i);
    if (d === 0x22) {
      i = stringEnd(text, i);
      continue;
    }
    if (d === 0x7b || d === 0x5b) depth += 1;
    else if (d === 0x7d || d === 0x5d) {
      depth -= 1;
      if (depth === 0) return i + 1;
    }
    i += 1;
  }
  return i;
}
