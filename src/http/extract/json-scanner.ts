/**
 * The byte scanner: finds where JSON values start and end in UTF-8 bytes without parsing them. It tracks only what
 * decides structure — inside a string or not, a pending backslash escape, and a stack of open brackets — as integers
 * in a reusable state, so it can stop at the end of any chunk (mid-character, mid-escape, mid-record) and resume on
 * the next one. It allocates nothing per byte. Validating the content is `JSON.parse`'s job; the scanner only has to
 * be exact on valid JSON and never loop or recurse on invalid bytes.
 */

export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;
export const COMMA = 0x2c;
export const COLON = 0x3a;
export const OPEN_BRACE = 0x7b;
export const CLOSE_BRACE = 0x7d;
export const OPEN_BRACKET = 0x5b;
export const CLOSE_BRACKET = 0x5d;

const CLASS_QUOTE = 1;
const CLASS_OPEN = 2;
const CLASS_CLOSE = 3;
const CLASS_COMMA = 4;

/** Byte → structural class (0 for every byte the scanner can step over outside strings). */
const classOf = new Uint8Array(256);
classOf[QUOTE] = CLASS_QUOTE;
classOf[OPEN_BRACE] = CLASS_OPEN;
classOf[OPEN_BRACKET] = CLASS_OPEN;
classOf[CLOSE_BRACE] = CLASS_CLOSE;
classOf[CLOSE_BRACKET] = CLASS_CLOSE;
classOf[COMMA] = CLASS_COMMA;

/** JSON whitespace: space, tab, line feed, carriage return. */
export function isJsonWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/** A byte that ends a number or literal (`true`, `null`, …) outside strings. */
export function isScalarDelimiter(byte: number): boolean {
  return isJsonWhitespace(byte) || classOf[byte] !== 0 || byte === COLON;
}

export const scanFailures = ['none', 'mismatch', 'too-deep'] as const;
export type ScanFailure = (typeof scanFailures)[number];

/**
 * Resumable scanner state. `depth` counts brackets opened since the scan began (0 = the level it started at) and
 * may not exceed `limit`.
 */
export class ScanState {
  depth = 0;
  inString = false;
  /** The previous chunk ended on a backslash inside a string: skip the first byte of the next one. */
  pendingEscape = false;
  /** Set by {@link scanElements} when it met the `]` closing the array it scans. */
  closed = false;
  failure: ScanFailure = 'none';
  failureAt = -1;
  limit: number;
  /** Opening byte of each open bracket, indexed by depth (1-based). */
  readonly stack: Uint8Array;

  constructor(capacity: number) {
    this.limit = capacity;
    this.stack = new Uint8Array(capacity + 2);
  }

  reset(limit: number): void {
    this.limit = Math.min(limit, this.stack.length - 2);
    this.depth = 0;
    this.inString = false;
    this.pendingEscape = false;
    this.closed = false;
    this.failure = 'none';
    this.failureAt = -1;
  }
}

/** Growable list of positions (element separators), reused between scans. */
export class PositionList {
  items = new Int32Array(1024);
  length = 0;

  push(position: number): void {
    if (this.length === this.items.length) {
      const grown = new Int32Array(this.items.length * 2);
      grown.set(this.items);
      this.items = grown;
    }
    this.items[this.length++] = position;
  }
}

/**
 * Scans the inside of an array from `from` to `to`, pushing onto `separators` the position of every `,` at the
 * array's own level and, last, of the `]` that closes it (then `state.closed` is set and the scan stops there).
 * Stops early once `separators` holds `maxSeparators`. Returns where it stopped; `-1` on a structural failure
 * (`state.failure`, `state.failureAt`). `state.limit` is relative to the array's level.
 */
export function scanElements(
  state: ScanState,
  buf: Buffer,
  from: number,
  to: number,
  separators: PositionList,
  maxSeparators: number,
): number {
  const stack = state.stack;
  const maxDepth = state.limit;
  let depth = state.depth;
  let inString = state.inString;
  let i = from;
  if (state.pendingEscape) {
    state.pendingEscape = false;
    i += 1;
  }
  while (i < to) {
    if (inString) {
      // Strings are most of a record: let the native memchr find the quote, then check it is not escaped.
      const end = findStringEnd(state, buf, i, to);
      if (end === -1) {
        i = to;
        break;
      }
      inString = false;
      i = end;
      continue;
    }
    const c = buf[i]!;
    const kind = classOf[c]!;
    if (kind === 0) {
      i += 1;
      continue;
    }
    if (kind === CLASS_QUOTE) {
      inString = true;
    } else if (kind === CLASS_OPEN) {
      depth += 1;
      if (depth > maxDepth) return fail(state, 'too-deep', i);
      stack[depth] = c;
    } else if (kind === CLASS_CLOSE) {
      if (depth === 0) {
        if (c !== CLOSE_BRACKET) return fail(state, 'mismatch', i);
        separators.push(i);
        state.closed = true;
        break;
      }
      // `{`+2 is `}` and `[`+2 is `]`.
      if (stack[depth]! + 2 !== c) return fail(state, 'mismatch', i);
      depth -= 1;
    } else if (depth === 0) {
      separators.push(i);
      if (separators.length >= maxSeparators) {
        i += 1;
        break;
      }
    }
    i += 1;
  }
  state.depth = depth;
  state.inString = inString;
  return i;
}

/**
 * Inside a string, at a position `from` that is not preceded by a pending backslash: returns the position after
 * the closing quote, or -1 when the string goes on past `to` (setting `state.pendingEscape` when the bytes end on
 * an unpaired backslash). A run of backslashes that starts at or after `from` pairs up from its start, so a quote
 * is escaped exactly when the run before it is odd. `buf.length` must be the end of the valid bytes, since
 * `indexOf` searches to it.
 */
function findStringEnd(state: ScanState, buf: Buffer, from: number, to: number): number {
  let at = from;
  for (;;) {
    const quote = buf.indexOf(QUOTE, at);
    if (quote === -1 || quote >= to) break;
    let k = quote - 1;
    while (k >= at && buf[k] === BACKSLASH) k -= 1;
    if (((quote - 1 - k) & 1) === 0) return quote + 1;
    at = quote + 1;
  }
  let k = to - 1;
  while (k >= at && buf[k] === BACKSLASH) k -= 1;
  if (((to - 1 - k) & 1) === 1) state.pendingEscape = true;
  return -1;
}

/**
 * Scans one array or object that starts at or before `from` (call first with `from` on its opening bracket and a
 * reset state). Returns the position just after its closing bracket, `to` when more bytes are needed (the state
 * remembers where it was), or `-1` on a structural failure.
 */
export function scanContainerEnd(state: ScanState, buf: Uint8Array, from: number, to: number): number {
  const stack = state.stack;
  const maxDepth = state.limit;
  let depth = state.depth;
  let inString = state.inString;
  let i = from;
  if (state.pendingEscape) {
    state.pendingEscape = false;
    i += 1;
  }
  outer: while (i < to) {
    if (inString) {
      while (i < to) {
        const c = buf[i]!;
        if (c === QUOTE) {
          inString = false;
          i += 1;
          continue outer;
        }
        i += c === BACKSLASH ? 2 : 1;
      }
      if (i > to) {
        state.pendingEscape = true;
        i = to;
      }
      break;
    }
    const c = buf[i]!;
    const kind = classOf[c]!;
    i += 1;
    if (kind === CLASS_QUOTE) {
      inString = true;
    } else if (kind === CLASS_OPEN) {
      depth += 1;
      if (depth > maxDepth) return fail(state, 'too-deep', i - 1);
      stack[depth] = c;
    } else if (kind === CLASS_CLOSE) {
      if (depth === 0 || stack[depth]! + 2 !== c) return fail(state, 'mismatch', i - 1);
      depth -= 1;
      if (depth === 0) {
        state.depth = 0;
        state.inString = false;
        state.closed = true;
        return i;
      }
    }
  }
  state.depth = depth;
  state.inString = inString;
  return i;
}

/**
 * Scans the rest of a string whose opening quote is before `from`. Returns the position just after the closing
 * quote, or `to` when more bytes are needed (`state.pendingEscape` remembers a split escape); `state.closed` tells
 * which.
 */
export function scanStringEnd(state: ScanState, buf: Uint8Array, from: number, to: number): number {
  let i = from;
  if (state.pendingEscape) {
    state.pendingEscape = false;
    i += 1;
  }
  while (i < to) {
    const c = buf[i]!;
    if (c === QUOTE) {
      state.closed = true;
      return i + 1;
    }
    i += c === BACKSLASH ? 2 : 1;
  }
  if (i > to) state.pendingEscape = true;
  return to;
}

/** Position of the first byte at or after `from` that ends a number or literal, or `to` if none. */
export function scanScalarEnd(buf: Uint8Array, from: number, to: number): number {
  let i = from;
  while (i < to && !isScalarDelimiter(buf[i]!)) i += 1;
  return i;
}

function fail(state: ScanState, failure: ScanFailure, at: number): number {
  state.failure = failure;
  state.failureAt = at;
  return -1;
}
