/**
 * The opt-in "hostile" record variants the loader tests use: text Postgres cannot store (`\u0000`), lone
 * surrogates, integers beyond int64, decimals beyond float64, malformed dates, deep nesting and a missing primary
 * key. They are written as raw JSON text, because a JS value cannot hold some of them exactly.
 */
import type { GeneratedRecord } from './generators-communications.ts';

export const hostileKinds = [
  'nul-character',
  'lone-surrogate',
  'big-integer',
  'long-decimal',
  'malformed-date',
  'deep-nesting',
  'missing-primary-key',
] as const;

export type HostileKind = (typeof hostileKinds)[number];

/** Which records are hostile: every `every`-th record (indexes every-1, 2·every-1, …) cycling through `kinds`. */
export interface HostileOptions {
  /** e.g. `10`: records 9, 19, 29, … are hostile. Default 10. */
  readonly every?: number;
  /** The variants to cycle through. Default: all of {@link hostileKinds}. */
  readonly kinds?: readonly HostileKind[];
}

/** Resolved hostile settings. */
export interface ResolvedHostile {
  readonly every: number;
  readonly kinds: readonly HostileKind[];
}

/** Exact raw JSON numbers no JS number can represent. */
export const hostileNumbers = {
  bigInteger: '12345678901234567890',
  negativeBigInteger: '-98765432109876543210',
  longDecimal: '0.1000000000000000055511151231257827',
} as const;

export const malformedDates = [
  '2024-02-30T25:61:00Z',
  'not a date',
  '0000-00-00 00:00:00',
  '31/12/2024',
] as const;

/** How deep the `nested` value of a `deep-nesting` record goes. */
export const hostileNestingDepth = 100;

const datePattern = /^\d{4}-\d{2}-\d{2}T/;

/** The hostile kind of record `index`, or undefined for a clean record. */
export function hostileKindAt(hostile: ResolvedHostile | undefined, index: number): HostileKind | undefined {
  if (hostile === undefined || hostile.kinds.length === 0) return undefined;
  if ((index + 1) % hostile.every !== 0) return undefined;
  return hostile.kinds[Math.floor(index / hostile.every) % hostile.kinds.length];
}

/** The JSON text of `record` turned into the given hostile variant. */
export function hostileRecordText(record: GeneratedRecord, kind: HostileKind, primaryKey: string): string {
  const copy: Record<string, unknown> = { ...record };
  const raw = new Map<string, string>();
  const textField = Object.keys(copy).find(
    (key) => key !== primaryKey && key !== 'uri' && typeof copy[key] === 'string',
  );
  switch (kind) {
    case 'nul-character':
      copy[textField ?? 'note'] = 'before\u0000after';
      break;
    case 'lone-surrogate':
      copy[textField ?? 'note'] = 'high \ud800 alone, low \udc00 alone';
      break;
    case 'big-integer':
      copy['counter'] = rawToken(raw, hostileNumbers.bigInteger);
      copy['balance'] = rawToken(raw, hostileNumbers.negativeBigInteger);
      break;
    case 'long-decimal':
      copy['rate'] = rawToken(raw, hostileNumbers.longDecimal);
      break;
    case 'malformed-date': {
      let replaced = 0;
      for (const [key, value] of Object.entries(copy)) {
        if (typeof value === 'string' && datePattern.test(value)) {
          copy[key] = malformedDates[replaced % malformedDates.length];
          replaced += 1;
        }
      }
      if (replaced === 0) copy['createdAt'] = malformedDates[0];
      break;
    }
    case 'deep-nesting': {
      let nested: unknown = { depth: hostileNestingDepth };
      for (let level = hostileNestingDepth - 1; level > 0; level -= 1) nested = { level, child: nested };
      copy['nested'] = nested;
      break;
    }
    case 'missing-primary-key':
      delete copy[primaryKey];
      break;
  }
  let text = JSON.stringify(copy);
  for (const [token, value] of raw) text = text.replace(JSON.stringify(token), value);
  return text;
}

function rawToken(raw: Map<string, string>, value: string): string {
  const token = `@@sandbox-raw-${raw.size}@@`;
  raw.set(token, value);
  return token;
}
