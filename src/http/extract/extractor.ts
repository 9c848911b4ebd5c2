/**
 * One extraction: walks the body as it streams — through the objects on the selector's path (or dlt's
 * auto-detection), streaming the selected array element by element (the hot path), then through the rest of the
 * document to check it is well-formed and that nothing follows it. Values outside the selection are validated and
 * dropped. Token-level reading is the cursor's job (`json-cursor.ts`).
 * Memory holds the unfinished element, the open batch and one chunk, except where auto-detection has to buffer an
 * object until it can decide (bounded by `maxRecordBytes`).
 * With captures (`capture.ts`), values outside the records on a requested path, or under a matching key, are parsed
 * and kept instead of dropped, and the objects around them are walked instead of skipped whole; the records' arrays
 * are untouched, so capturing costs nothing on the hot path.
 */
import { ArrayStreamer } from './array-stream.ts';
import { isRecordKey, maxSearchedObjectPath } from './auto-detect.ts';
import type { BatchBuilder } from './batch-builder.ts';
import { ByteReader } from './byte-reader.ts';
import type { CaptureNode, Captures } from './capture.ts';
import { formatDataSelector } from './data-selector.ts';
import type { SelectorPath } from './data-selector.ts';
import { extractError } from './extract-errors.ts';
import type { ResolvedExtractOptions } from './extract-options.ts';
import { JsonCursor } from './json-cursor.ts';
import { OPEN_BRACE, OPEN_BRACKET, QUOTE } from './json-scanner.ts';
import { parseElement } from './parse-records.ts';
import type { ExtractionOutcome, SelectedKind } from './types.ts';
import type { RecordBatch } from '../../shared/records.ts';

/** How many of an object's keys an error message names. */
const keysNamed = 10;

/** Extracts the records of one body; `run()` once, then `outcome()`. */
export class Extractor {
  private readonly cursor: JsonCursor;
  private readonly arrays: ArrayStreamer;
  private readonly autoDetected: boolean;
  private path: SelectorPath | undefined;
  private selected: SelectedKind = 'empty';
  /** Auto-detection: the records were found (or the search is over). */
  private decided = false;
  /** Auto-detection: the first list met, used when no list has a record key. */
  private fallback: SelectorPath | undefined;
  /** Auto-detection: size of the buffered root object when the choice waits for the end of the body. */
  private undecidedLength = -1;

  constructor(
    private readonly reader: ByteReader,
    private readonly options: ResolvedExtractOptions,
    private readonly batches: BatchBuilder,
    private readonly captures: Captures | undefined = undefined,
  ) {
    this.path = options.path;
    this.autoDetected = options.path === undefined;
    this.cursor = new JsonCursor(reader, options);
    this.arrays = new ArrayStreamer(reader, this.cursor, options, batches);
  }

  /** Yields the batches; throws an `IngestError` (`response-shape`) when the body is not what it should be. */
  async *run(): AsyncGenerator<RecordBatch> {
    await this.cursor.skipByteOrderMark();
    const first = await this.cursor.peek();
    if (first !== -1) {
      if (!startsJsonValue(first))
        throw this.cursor.failure('BODY_NOT_JSON', 'the body is not JSON', this.reader.pos);
      if (this.path === undefined) yield* this.detectAndSelect();
      else yield* this.selectIn(0, this.captures?.root);
      if ((await this.cursor.peek()) !== -1) {
        throw this.cursor.failure(
          'TRAILING_GARBAGE',
          'unexpected bytes after the JSON document',
          this.reader.pos,
        );
      }
      if (this.undecidedLength >= 0) yield* this.selectBuffered();
    }
    this.batches.seal();
    yield* this.batches.take();
  }

  /** The totals; valid once `run()` has finished. */
  outcome(): ExtractionOutcome {
    return {
      records: this.batches.totalRecords,
      bytes: this.batches.totalBytes,
      bodyBytes: this.reader.received,
      selected: this.selected,
      selector: formatDataSelector(this.path ?? []),
      autoDetected: this.autoDetected,
      ...(this.captures === undefined ? {} : { captured: this.captures.values }),
    };
  }

  // ---- selection by an explicit path ----

  private async *selectIn(level: number, node: CaptureNode | undefined): AsyncGenerator<RecordBatch> {
    const path = this.path ?? [];
    if (level === path.length) {
      yield* this.selectValue(node);
      return;
    }
    const first = await this.cursor.peekValue();
    if (first !== OPEN_BRACE) {
      throw this.selectorNotFound(
        level,
        `the value at ${formatDataSelector(path.slice(0, level))} is ${kindOf(first)}`,
      );
    }
    this.cursor.enterContainer();
    const wanted = path[level];
    const otherKeys: string[] = [];
    let found = false;
    for (let more = await this.cursor.firstMember(); more; more = await this.cursor.nextMember()) {
      const key = await this.cursor.readKey();
      if (key === wanted) {
        if (found) {
          throw this.cursor.failure(
            'AMBIGUOUS_SELECTION',
            `the key ${JSON.stringify(key)} occurs twice`,
            this.reader.pos,
          );
        }
        found = true;
        yield* this.selectIn(level + 1, node?.children.get(key));
      } else {
        if (otherKeys.length < keysNamed) otherKeys.push(key);
        yield* this.visitValue(path.slice(0, level), key, node);
      }
    }
    if (!found) {
      const keys =
        otherKeys.length === 0
          ? 'it has no keys'
          : `its keys: ${otherKeys.map((k) => JSON.stringify(k)).join(', ')}`;
      throw this.selectorNotFound(
        level,
        `the object at ${formatDataSelector(path.slice(0, level))} has no ${JSON.stringify(wanted)} (${keys})`,
        otherKeys,
      );
    }
  }

  /** The selected value: an array streams its elements, `null` is no record, anything else one record. */
  private async *selectValue(node: CaptureNode | undefined): AsyncGenerator<RecordBatch> {
    const first = await this.cursor.peekValue();
    if (first === OPEN_BRACKET) {
      this.selected = 'array';
      yield* this.arrays.stream(true);
      return;
    }
    const index = this.batches.totalRecords;
    const [start, end] = await this.cursor.captureValue('RECORD_TOO_LARGE', index);
    const view = this.reader.view;
    if (end - start === 4 && view.toString('latin1', start, end) === 'null') {
      this.selected = 'null';
      return;
    }
    this.selected = first === OPEN_BRACE ? 'object' : 'scalar';
    const record = parseElement(view, start, end, this.cursor.context('record', index), true);
    this.batches.add(record, end - start);
    // A selected object is part of the body: what a caller captures may be inside it.
    this.captures?.addWithin(this.path ?? [], node, record.value);
    yield* this.batches.take();
  }

  // ---- dlt's auto-detection ----

  private async *detectAndSelect(): AsyncGenerator<RecordBatch> {
    const first = await this.cursor.peekValue();
    if (first !== OPEN_BRACE) {
      this.path = [];
      yield* this.selectValue(this.captures?.root);
      return;
    }
    const reader = this.reader;
    const rootStart = reader.pos;
    reader.retainFrom = rootStart;
    yield* this.searchObject([], this.captures?.root);
    if (this.decided) return;
    this.undecidedLength = reader.pos - reader.retainFrom;
  }

  /** Walks an object in document order looking for the list dlt would pick. */
  private async *searchObject(
    path: readonly string[],
    node: CaptureNode | undefined,
  ): AsyncGenerator<RecordBatch> {
    this.cursor.enterContainer();
    for (let more = await this.cursor.firstMember(); more; more = await this.cursor.nextMember()) {
      const key = await this.cursor.readKey();
      const first = await this.cursor.peekValue();
      if (this.decided) {
        yield* this.visitValue(path, key, node);
      } else if (first === OPEN_BRACKET && isRecordKey(key)) {
        this.decided = true;
        this.path = [...path, key];
        this.reader.retainFrom = -1;
        yield* this.selectValue(undefined);
      } else if (first === OPEN_BRACKET) {
        this.fallback ??= [...path, key];
        yield* this.skipValue();
      } else if (first === OPEN_BRACE && path.length < maxSearchedObjectPath) {
        // Searched for records even when it is to be captured (capturing must not change what is selected); its
        // bytes are still buffered afterwards unless the records were found inside it.
        const child = node?.children.get(key);
        const whole = this.captures?.action(child, key, true) === 'capture';
        const offset = this.reader.pos - this.reader.retainFrom;
        yield* this.searchObject([...path, key], child);
        if (whole && !this.decided) this.captureSearched([...path, key], offset);
      } else {
        yield* this.visitValue(path, key, node);
      }
    }
  }

  /** Captures an object that the search walked, from the buffered root (`offset` from its start). */
  private captureSearched(path: readonly string[], offset: number): void {
    const reader = this.reader;
    const start = reader.retainFrom + offset;
    const { value } = parseElement(reader.view, start, reader.pos, this.cursor.context('value', -1));
    this.captures?.add(path, value);
  }

  /** No list under a record key: the first list, else the whole object, from the buffered root object. */
  private async *selectBuffered(): AsyncGenerator<RecordBatch> {
    const reader = this.reader;
    const start = reader.retainFrom;
    const end = start + this.undecidedLength;
    if (this.fallback !== undefined) {
      this.path = this.fallback;
      const buffered = new ByteReader([reader.view.subarray(start, end)]);
      buffered.dropped = reader.dropped + start;
      // The search already captured what is outside the records: the second pass must not add them again.
      const again = new Extractor(buffered, { ...this.options, path: this.fallback }, this.batches);
      yield* again.run();
      this.selected = again.selected;
      return;
    }
    this.path = [];
    this.selected = 'object';
    if (end - start > this.options.maxRecordBytes) throw this.cursor.tooLarge('RECORD_TOO_LARGE', 0, start);
    this.batches.add(
      parseElement(reader.view, start, end, this.cursor.context('record', 0), true),
      end - start,
    );
    // The search already walked the object for captures.
  }

  /**
   * The value of member `key` of the object at `path` (trie node `node`), which is not the records: captured,
   * walked for the captures inside it, or validated and dropped.
   */
  private async *visitValue(
    path: readonly string[],
    key: string,
    node: CaptureNode | undefined,
  ): AsyncGenerator<RecordBatch> {
    const captures = this.captures;
    if (captures === undefined) {
      yield* this.skipValue();
      return;
    }
    const first = await this.cursor.peekValue();
    if (first === OPEN_BRACKET) {
      yield* this.skipValue();
      return;
    }
    const child = node?.children.get(key);
    const action = captures.action(child, key, first === OPEN_BRACE);
    if (action === 'capture') {
      const [start, end] = await this.cursor.captureValue('VALUE_TOO_LARGE', -1);
      const { value } = parseElement(this.reader.view, start, end, this.cursor.context('value', -1));
      this.reader.mark = end;
      captures.add([...path, key], value);
      captures.addWithin([...path, key], child, value);
    } else if (action === 'walk') {
      this.cursor.enterContainer();
      const inner = [...path, key];
      for (let more = await this.cursor.firstMember(); more; more = await this.cursor.nextMember()) {
        yield* this.visitValue(inner, await this.cursor.readKey(), child);
      }
    } else {
      yield* this.skipValue();
    }
  }

  /** Validates and drops the value at the current position. */
  private async *skipValue(): AsyncGenerator<RecordBatch> {
    if ((await this.cursor.peekValue()) === OPEN_BRACKET) {
      yield* this.arrays.stream(false);
      return;
    }
    const [start, end] = await this.cursor.captureValue('VALUE_TOO_LARGE', -1);
    parseElement(this.reader.view, start, end, this.cursor.context('value', -1));
    this.reader.mark = end;
  }

  private selectorNotFound(level: number, reason: string, keys: readonly string[] = []): Error {
    const selector = formatDataSelector(this.path ?? []);
    return extractError(
      'SELECTOR_NOT_FOUND',
      `data_selector ${selector} is not in the body: ${reason}`,
      undefined,
      {
        selector,
        missingAt: formatDataSelector((this.path ?? []).slice(0, level + 1)),
        keys,
      },
    );
  }
}

function startsJsonValue(byte: number): boolean {
  return (
    byte === OPEN_BRACE ||
    byte === OPEN_BRACKET ||
    byte === QUOTE ||
    byte === 0x2d || // -
    (byte >= 0x30 && byte <= 0x39) ||
    byte === 0x74 || // t
    byte === 0x66 || // f
    byte === 0x6e // n
  );
}

function kindOf(byte: number): string {
  if (byte === OPEN_BRACKET) return 'an array';
  if (byte === QUOTE) return 'a string';
  if (byte === 0x6e) return 'null';
  if (byte === 0x74 || byte === 0x66) return 'a boolean';
  return 'a number';
}
