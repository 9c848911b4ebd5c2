/**
 * Deterministic randomness for the sandbox. Every record is generated from its own small PRNG seeded by
 * (seed, salt, index), so record i can be produced alone, in any order, with no state kept between records, and
 * the same inputs always give the same values.
 */

/** A PRNG: each call returns a float in [0, 1). */
export type Random = () => number;

/** Mixes 32-bit integers into one well-spread 32-bit hash (murmur3 finaliser per step). */
export function mixSeed(...parts: readonly number[]): number {
  let h = 0x9e3779b9;
  for (const part of parts) {
    h = Math.imul(h ^ (part >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    // Fold in the high bits of indexes above 2^32 so that large indexes do not collide.
    if (part > 0xffffffff) h = Math.imul(h ^ Math.floor(part / 0x100000000), 0x27d4eb2f);
  }
  return h >>> 0;
}

/** A 32-bit FNV-1a hash of a string: turns names (resources, ids) into seed parts. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32: tiny, fast and good enough for test data (not for cryptography). */
export function createRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One element of a non-empty list. */
export function pick<T>(random: Random, values: readonly T[]): T {
  return values[Math.floor(random() * values.length)] as T;
}

/** An integer in [min, max] (both included). */
export function intBetween(random: Random, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

/** True with the given probability. */
export function chance(random: Random, probability: number): boolean {
  return random() < probability;
}

// Two-character lookup tables: number-to-string conversions are the hot spot when generating millions of records.
const decimalPairs = Array.from({ length: 100 }, (_, n) => String(n).padStart(2, '0'));
const hexPairs = Array.from({ length: 256 }, (_, n) => n.toString(16).padStart(2, '0'));

/** `count` decimal digits (8 per PRNG call, as four table lookups). */
export function digits(random: Random, count: number): string {
  let out = '';
  let left = count;
  while (left >= 8) {
    const value = Math.floor(random() * 1e8);
    out += (decimalPairs[value % 100] as string) + (decimalPairs[Math.floor(value / 100) % 100] as string);
    out +=
      (decimalPairs[Math.floor(value / 1e4) % 100] as string) +
      (decimalPairs[Math.floor(value / 1e6)] as string);
    left -= 8;
  }
  if (left > 0) out += String(Math.floor(random() * 10 ** left)).padStart(left, '0');
  return out;
}

/** `count` lowercase hex digits (8 per PRNG call). */
export function hexDigits(random: Random, count: number): string {
  let out = '';
  while (out.length + 8 <= count) {
    const word = Math.floor(random() * 4294967296);
    out += (hexPairs[word >>> 24] as string) + (hexPairs[(word >>> 16) & 0xff] as string);
    out += (hexPairs[(word >>> 8) & 0xff] as string) + (hexPairs[word & 0xff] as string);
  }
  while (out.length < count) out += (hexPairs[Math.floor(random() * 16)] as string)[1] as string;
  return out;
}

/** Two-digit, zero-padded decimal (0–99). */
export function twoDigits(value: number): string {
  return decimalPairs[value] as string;
}

/**
 * A version-4-shaped UUID that is unique per (namespace, index): the last group holds the namespace nibble and the
 * index, so ids never collide within a namespace however many are generated; the rest comes from `random`.
 */
export function indexedUuid(random: Random, namespace: number, index: number): string {
  const tail = (namespace & 0xf).toString(16) + hexDigits(random, 1) + index.toString(16).padStart(10, '0');
  const variant = pick(random, ['8', '9', 'a', 'b'] as const);
  return `${hexDigits(random, 8)}-${hexDigits(random, 4)}-4${hexDigits(random, 3)}-${variant}${hexDigits(random, 3)}-${tail}`;
}
