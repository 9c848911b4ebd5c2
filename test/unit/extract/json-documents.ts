/**
 * fast-check generators of JSON documents for the extractor's property tests: random values written as JSON text
 * with random formatting (whitespace, optional `\u` escapes, `\/`, big and long numbers, lone surrogates and NULs
 * as escapes), so that the exact source text of every record is known.
 */
import fc from 'fast-check';

/** A JSON value as a tree, written to text by {@link writeJson}. */
export type JsonNode =
  | { readonly kind: 'raw'; readonly text: string }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'array'; readonly items: readonly JsonNode[] }
  | { readonly kind: 'object'; readonly entries: readonly (readonly [string, JsonNode])[] };

const special = [
  '\u0000',
  '\ud800',
  '\udbff',
  '\udc00',
  '\udfff',
  '"',
  '\\',
  '/',
  '\n',
  '\t',
  '\u2028',
  'é',
  '😀',
];
const character = fc.oneof(
  { arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), weight: 6 },
  { arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }), weight: 6 },
  { arbitrary: fc.constantFrom(...special), weight: 2 },
);
const text = fc.string({ unit: character, maxLength: 12 });

const digits = (min: number, max: number) =>
  fc.string({
    unit: fc.constantFrom('0', '1', '2', '3', '4', '5', '6', '7', '8', '9'),
    minLength: min,
    maxLength: max,
  });

/** Number texts, including integers beyond 2^53, long decimals and exponents. */
const numberText = fc
  .tuple(
    fc.boolean(),
    fc.oneof(
      fc.constant('0'),
      fc.tuple(fc.constantFrom('1', '5', '9'), digits(0, 30)).map(([a, b]) => a + b),
    ),
    fc.option(digits(1, 25), { nil: undefined }),
    fc.option(fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), digits(1, 3)), {
      nil: undefined,
    }),
  )
  .map(([negative, whole, fraction, exponent]) => {
    let out = (negative ? '-' : '') + whole;
    if (fraction !== undefined) out += `.${fraction}`;
    if (exponent !== undefined) out += exponent.join('');
    return out;
  });

function jsonNodeOf(strings: fc.Arbitrary<string>): fc.Arbitrary<JsonNode> {
  const leaf: fc.Arbitrary<JsonNode> = fc.oneof(
    numberText.map((value) => ({ kind: 'raw', text: value }) as const),
    fc.constantFrom('true', 'false', 'null').map((value) => ({ kind: 'raw', text: value }) as const),
    strings.map((value) => ({ kind: 'string', value }) as const),
  );
  return fc.letrec<{ node: JsonNode; array: JsonNode; object: JsonNode }>((tie) => ({
    node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('array'), tie('object')),
    array: fc.array(tie('node'), { maxLength: 4 }).map((items) => ({ kind: 'array', items }) as const),
    object: fc
      .array(fc.tuple(strings, tie('node')), { maxLength: 4 })
      .map((entries) => ({ kind: 'object', entries }) as const),
  })).node;
}

/** Any JSON value (small trees), with any characters. */
export const jsonNode: fc.Arbitrary<JsonNode> = jsonNodeOf(text);

/** Any JSON value whose strings are printable ASCII (written as ASCII unless an escape is chosen). */
export const asciiJsonNode: fc.Arbitrary<JsonNode> = jsonNodeOf(
  fc.string({ unit: 'grapheme-ascii', maxLength: 12 }),
);

/** A tiny deterministic PRNG (mulberry32) for formatting choices. */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const spaces = ['', '', '', ' ', '\n  ', '\t', '\r\n', '  '];

/** Random JSON whitespace (often none). */
export function whitespace(random: () => number): string {
  return spaces[Math.floor(random() * spaces.length)] ?? '';
}

/** Writes a node as JSON text; `random` picks whitespace and optional escapes. */
export function writeJson(node: JsonNode, random: () => number): string {
  switch (node.kind) {
    case 'raw':
      return node.text;
    case 'string':
      return writeString(node.value, random);
    case 'array':
      return `[${whitespace(random)}${node.items.map((item) => writeJson(item, random)).join(`${whitespace(random)},${whitespace(random)}`)}${whitespace(random)}]`;
    case 'object': {
      const members = node.entries.map(
        ([key, value]) =>
          `${writeString(key, random)}${whitespace(random)}:${whitespace(random)}${writeJson(value, random)}`,
      );
      return `{${whitespace(random)}${members.join(`${whitespace(random)},${whitespace(random)}`)}${whitespace(random)}}`;
    }
  }
}

const shortEscapes: Record<string, string> = {
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

function writeString(value: string, random: () => number): string {
  let out = '"';
  for (let i = 0; i < value.length; i += 1) {
    const unit = value.charCodeAt(i);
    const c = value[i] ?? '';
    const isHigh = unit >= 0xd800 && unit <= 0xdbff;
    const isLow = unit >= 0xdc00 && unit <= 0xdfff;
    const paired = isHigh && isLowAt(value, i + 1);
    if (c === '"') out += '\\"';
    else if (c === '\\') out += '\\\\';
    else if (unit < 0x20)
      out += shortEscapes[c] !== undefined && random() < 0.5 ? shortEscapes[c] : unicodeEscape(unit, random);
    else if ((isHigh && !paired) || isLow)
      out += unicodeEscape(unit, random); // lone (a paired low was consumed)
    else if (paired) {
      if (random() < 0.3) out += unicodeEscape(unit, random) + unicodeEscape(value.charCodeAt(i + 1), random);
      else out += c + (value[i + 1] ?? '');
      i += 1;
    } else if (c === '/' && random() < 0.5) out += '\\/';
    else if (random() < 0.1) out += unicodeEscape(unit, random);
    else out += c;
  }
  return `${out}"`;
}

function isLowAt(value: string, at: number): boolean {
  const unit = value.charCodeAt(at);
  return unit >= 0xdc00 && unit <= 0xdfff;
}

function unicodeEscape(unit: number, random: () => number): string {
  const hex = unit.toString(16).padStart(4, '0');
  return `\\u${random() < 0.5 ? hex : hex.toUpperCase()}`;
}

/**
 * The issues the extractor must report for a record written from `node`: NUL or lone surrogates in any key or
 * string of the text — including those `JSON.parse` drops with a duplicate key, since Postgres still rejects them.
 */
export function expectedIssues(node: JsonNode): string[] {
  let nul = false;
  let lone = false;
  const check = (value: string): void => {
    if (value.includes('\0')) nul = true;
    if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(value)) lone = true;
  };
  const visit = (item: JsonNode): void => {
    if (item.kind === 'string') check(item.value);
    else if (item.kind === 'array') item.items.forEach(visit);
    else if (item.kind === 'object') {
      for (const [key, value] of item.entries) {
        check(key);
        visit(value);
      }
    }
  };
  visit(node);
  return [...(nul ? ['nul-char'] : []), ...(lone ? ['lone-surrogate'] : [])];
}
