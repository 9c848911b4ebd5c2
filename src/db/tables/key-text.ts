/**
 * The text of a primary key value exactly as the merge reads it: `value ->> field` of the record's jsonb. Staging
 * dedupes, counts and probes by the same text, so the two must agree to the character — two big integer ids that
 * `JSON.parse` rounds to the same double must never collapse into one key.
 *
 * A string key is its (unescaped) string; `true`/`false` are themselves. A number is NOT `String(parsed)`: its raw
 * token is taken from the record's bytes (`record-top-level.ts`) and written the way Postgres prints a jsonb number
 * (`numeric_out`): digits kept exactly, no exponent, the scale of the input (`1.0` → `1.0`, `1e3` → `1000`,
 * `1.50e1` → `15.0`, `-0` → `0`). So `5` and `"5"` key to the same text `5`, while `1` and `1.0` are different keys
 * — as in the table.
 */

/** Longest numeric key we write (digits before plus after the point): beyond it the record is rejected. */
export const maxNumericKeyDigits = 1000;

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
