/**
 * Free text written to the ledger (`loads.error`, `loads.report`, `resource_runs.error` and `skip_reason`,
 * `unresolvable_keys.reason`, …) comes from error messages, and an error message can quote what an API sent — V8's
 * `JSON.parse` message quotes the text it refused, raw U+0000 included. Postgres `text` cannot hold U+0000, and
 * `jsonb` refuses the escape `\u0000` too: one such character would make the ledger's write fail, and with it the
 * run's bookkeeping. Every ledger write of free text goes through these helpers, which write U+0000 as the visible
 * six characters `\u0000` (as rejected payloads are written: `staging/record-checks.ts`).
 */

const nul = '\u0000';

/** `text` with each U+0000 written as the six characters `\u0000` (anything else unchanged). */
export function ledgerText(text: string): string {
  return text.includes(nul) ? text.replaceAll(nul, '\\u0000') : text;
}

/** {@link ledgerText} of a text that may be absent (null or undefined → null). */
export function ledgerTextOrNull(text: string | null | undefined): string | null {
  return text === null || text === undefined ? null : ledgerText(text);
}

/**
 * The JSON text of `value` for a `jsonb` column: `JSON.stringify`, with U+0000 in any string — object keys
 * included — written as the visible `\u0000` (jsonb refuses the escape a plain `JSON.stringify` would write).
 */
export function ledgerJson(value: unknown): string {
  const json = JSON.stringify(value, (_key, item: unknown) => {
    if (typeof item === 'string') return ledgerText(item);
    if (item !== null && typeof item === 'object' && !Array.isArray(item)) {
      const entries = Object.entries(item);
      if (entries.some(([key]) => key.includes(nul))) {
        return Object.fromEntries(entries.map(([key, v]) => [ledgerText(key), v]));
      }
    }
    return item;
  });
  // `JSON.stringify(undefined)` is undefined: store JSON null rather than nothing.
  return json ?? 'null';
}
