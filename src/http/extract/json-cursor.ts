/**
 * A cursor over a streamed JSON document for the parts that are walked token by token — the objects on the way to
 * the records and everything around them: whitespace, keys, whole values, object members, the byte order mark —
 * plus the errors that point into the body. Reading more bytes happens only when the bytes at hand run out.
 */
import type { ByteReader } from './byte-reader.ts';
import type { ExtractErrorCode, FailureSite } from './extract-errors.ts';
import { extractError } from './extract-errors.ts';
import type { ResolvedExtractOptions } from './extract-options.ts';
import {
  CLOSE_BRACE,
  COLON,
  COMMA,
  OPEN_BRACE,
  OPEN_BRACKET,
  QUOTE,
  ScanState,
  isJsonWhitespace,
  scanContainerEnd,
  scanScalarEnd,
  scanStringEnd,
} from './json-scanner.ts';
import type { ElementContext } from './parse-records.ts';
import { parseElement } from './parse-records.ts';

/** Position, nesting depth and error reporting of one document being read. */
export class JsonCursor {
  /** Open arrays and objects around the current position. */
  depth = 0;
  /** Scanner state, shared by whatever is scanning right now. */
  readonly scan: ScanState;

  constructor(
    readonly reader: ByteReader,
    readonly options: ResolvedExtractOptions,
  ) {
    this.scan = new ScanState(options.maxDepth);
  }

  // ---- objects, keys and whole values ----

  /** After `{`: true when the object has a first member (then positioned on its key). */
  async firstMember(): Promise<boolean> {
    const next = await this.peekValue();
    if (next !== CLOSE_BRACE) return true;
    this.reader.pos += 1;
    this.depth -= 1;
    return false;
  }

  /** After a member's value: true when another member follows (then positioned on its key). */
  async nextMember(): Promise<boolean> {
    const next = await this.peekValue();
    this.reader.pos += 1;
    if (next === COMMA) return true;
    if (next === CLOSE_BRACE) {
      this.depth -= 1;
      return false;
    }
    throw this.failure('INVALID_JSON', 'expected "," or "}" after an object member', this.reader.pos - 1);
  }

  /** Reads a member's key and its colon. */
  async readKey(): Promise<string> {
    if ((await this.peekValue()) !== QUOTE) {
      throw this.failure('INVALID_JSON', 'expected a key (a string) in an object', this.reader.pos);
    }
    const [start, end] = await this.captureValue('VALUE_TOO_LARGE', -1);
    const key = parseElement(this.reader.view, start, end, this.context('key', -1)).value as string;
    if ((await this.peekValue()) !== COLON) {
      throw this.failure('INVALID_JSON', 'expected ":" after an object key', this.reader.pos);
    }
    this.reader.pos += 1;
    return key;
  }

  /**
   * Buffers the whole value at the current position (an object, string, number or literal) and returns its span;
   * the position moves past it.
   */
  async captureValue(code: ExtractErrorCode, index: number): Promise<[number, number]> {
    const reader = this.reader;
    const scan = this.scan;
    let start = reader.pos;
    const first = reader.view[start]!;
    let at = start;
    scan.reset(this.options.maxDepth - this.depth);
    for (;;) {
      const end = reader.view.length;
      if (first === OPEN_BRACE || first === OPEN_BRACKET) {
        at = scanContainerEnd(scan, reader.view, at, end);
        if (at === -1) throw this.structureFailure();
      } else if (first === QUOTE) {
        at = scanStringEnd(scan, reader.view, at === start ? start + 1 : at, end);
      } else {
        at = scanScalarEnd(reader.view, at, end);
        if (at < end) scan.closed = true;
      }
      if (scan.closed) break;
      if (at - start > this.options.maxRecordBytes) throw this.tooLarge(code, index, start);
      const shift = await this.fill(start);
      if (shift === -1) {
        if (first === OPEN_BRACE || first === OPEN_BRACKET || first === QUOTE) {
          throw this.truncated(code === 'RECORD_TOO_LARGE' ? `inside record ${index}` : 'inside a value');
        }
        break; // A number or literal may end the body.
      }
      start -= shift;
      at -= shift;
    }
    if (at === start) throw this.failure('INVALID_JSON', 'expected a value', start);
    if (at - start > this.options.maxRecordBytes) throw this.tooLarge(code, index, start);
    reader.pos = at;
    return [start, at];
  }

  /** Steps into the array or object at the position, enforcing `maxDepth`. */
  enterContainer(): void {
    this.depth += 1;
    if (this.depth > this.options.maxDepth) {
      throw this.failure(
        'NESTING_TOO_DEEP',
        `arrays and objects nest deeper than maxDepth (${this.options.maxDepth})`,
        this.reader.pos,
      );
    }
    this.reader.pos += 1;
  }

  // ---- bytes ----

  async skipByteOrderMark(): Promise<void> {
    const reader = this.reader;
    while (reader.available < 3 && (await this.fill(reader.pos)) !== -1);
    const view = reader.view;
    const at = reader.pos;
    if (view[at] === 0xef && view[at + 1] === 0xbb && view[at + 2] === 0xbf) reader.pos += 3;
  }

  /** The next non-whitespace byte (not consumed), or -1 at the end of the body. */
  async peek(): Promise<number> {
    const reader = this.reader;
    for (;;) {
      const view = reader.view;
      let at = reader.pos;
      while (at < view.length && isJsonWhitespace(view[at]!)) at += 1;
      reader.pos = at;
      if (at < view.length) return view[at]!;
      if ((await this.fill(at)) === -1) return -1;
    }
  }

  /** Like `peek`, where the document cannot end. */
  async peekValue(): Promise<number> {
    const next = await this.peek();
    if (next === -1) throw this.truncated('inside the document');
    return next;
  }

  /** Reads the next chunk, keeping bytes from `keepFrom` on. Returns the shift of positions, -1 at the end. */
  async fill(keepFrom: number): Promise<number> {
    const reader = this.reader;
    reader.mark = keepFrom;
    const shift = await reader.fill();
    if (reader.retainFrom >= 0 && reader.view.length - reader.retainFrom > this.options.maxRecordBytes) {
      throw extractError(
        'AUTO_DETECT_TOO_LARGE',
        `no data_selector is set and the body's top-level object has no list under a usual record key (data, items, results, …) in its first ${this.options.maxRecordBytes} bytes: set data_selector`,
        undefined,
        { limit: this.options.maxRecordBytes },
      );
    }
    return shift;
  }

  // ---- errors ----

  context(noun: ElementContext['noun'], firstIndex: number): ElementContext {
    return { offsetOfBytes: this.reader.dropped, firstIndex, noun };
  }

  site(at: number): FailureSite {
    return { bytes: this.reader.view, at, offsetOfBytes: this.reader.dropped };
  }

  failure(code: ExtractErrorCode, message: string, at: number): Error {
    return extractError(code, message, this.site(at));
  }

  structureFailure(): Error {
    if (this.scan.failure === 'too-deep') {
      return this.failure(
        'NESTING_TOO_DEEP',
        `arrays and objects nest deeper than maxDepth (${this.options.maxDepth})`,
        this.scan.failureAt,
      );
    }
    return this.failure(
      'INVALID_JSON',
      'a closing bracket does not match its opening one',
      this.scan.failureAt,
    );
  }

  /** `index`: of the record, or of the element in a skipped array (-1 for another value). */
  tooLarge(code: ExtractErrorCode, index: number, at: number): Error {
    const what =
      code === 'RECORD_TOO_LARGE'
        ? `record ${index}`
        : index >= 0
          ? `element ${index} of a skipped array`
          : 'a skipped value';
    return extractError(
      code,
      `${what} is larger than maxRecordBytes (${this.options.maxRecordBytes} bytes)`,
      this.site(at),
      {
        limit: this.options.maxRecordBytes,
        ...(index >= 0 ? { index } : {}),
      },
    );
  }

  truncated(where: string): Error {
    const reader = this.reader;
    return extractError(
      'TRUNCATED_BODY',
      `the body ended ${where}, after ${reader.received} bytes`,
      this.site(reader.view.length),
      {
        bodyBytes: reader.received,
      },
    );
  }
}
