/**
 * Values outside the records that a caller wants from the same single pass over the body — a paginator's next link,
 * cursor or total. Two ways to ask: exact JSONPaths (the `data_selector` subset) and key patterns matched at any
 * depth of the objects around the records (paginator auto-detection). Arrays are never captured nor walked: they
 * are records or skipped values, and skipping them keeps the hot path. Captured values are parsed JSON, in
 * document order, the last of duplicates included (a reader that wants `JSON.parse`'s answer takes the last).
 */
import { IngestError } from '../../errors.ts';
import { formatDataSelector, parseDataSelector } from './data-selector.ts';
import type { SelectorPath } from './data-selector.ts';

/** What to capture; see {@link ExtractOptions.capture}. */
export interface CaptureOptions {
  /** JSONPaths of values to capture, e.g. `next`, `cursors.next`, `$.paging.totalPages`. */
  readonly paths?: readonly string[] | undefined;
  /**
   * Also capture the value of every object member whose key, lowercased, matches one of these patterns, at any
   * depth of the objects outside the records (objects are walked to find them).
   */
  readonly keys?: readonly RegExp[] | undefined;
}

/** One captured value: where it was and its parsed JSON value (an object or a scalar, never an array). */
export interface CapturedValue {
  readonly path: SelectorPath;
  /** `path` as a JSONPath (`$.cursors.next`), the form {@link capturedAt} compares. */
  readonly selector: string;
  readonly value: unknown;
}

/** At most this many values are kept (a body full of matching keys cannot grow memory without bound). */
export const maxCapturedValues = 256;

/** A node of the trie of requested paths. */
export class CaptureNode {
  readonly children = new Map<string, CaptureNode>();
  target = false;
}

/** What to do with one value outside the records. */
export type CaptureAction = 'skip' | 'capture' | 'walk';

/** The captures of one extraction. */
export class Captures {
  readonly values: CapturedValue[] = [];

  private constructor(
    readonly root: CaptureNode,
    private readonly keys: readonly RegExp[],
  ) {}

  /** Compiles the options; undefined when nothing is to be captured. Bad paths are a `config` error. */
  static from(options: CaptureOptions | undefined): Captures | undefined {
    const paths = options?.paths ?? [];
    const keys = options?.keys ?? [];
    if (paths.length === 0 && keys.length === 0) return undefined;
    const root = new CaptureNode();
    for (const source of paths) {
      const path = parseDataSelector(source);
      if (path.length === 0) {
        throw new IngestError(
          'config',
          'INVALID_CAPTURE_PATH',
          `capture path ${source}: "$" is the whole body`,
        );
      }
      let node = root;
      for (const key of path) {
        let child = node.children.get(key);
        if (child === undefined) {
          child = new CaptureNode();
          node.children.set(key, child);
        }
        node = child;
      }
      node.target = true;
    }
    return new Captures(root, keys);
  }

  /** True when objects must be walked to find keys anywhere (key patterns were given). */
  get walksEverything(): boolean {
    return this.keys.length > 0;
  }

  matchesKey(key: string): boolean {
    if (this.keys.length === 0) return false;
    const lower = key.toLowerCase();
    return this.keys.some((pattern) => pattern.test(lower));
  }

  /** The decision for the value of `key` (its trie node is `node`); `isObject`: the value is an object. */
  action(node: CaptureNode | undefined, key: string, isObject: boolean): CaptureAction {
    if (node?.target === true || this.matchesKey(key)) return 'capture';
    if (isObject && (this.walksEverything || (node !== undefined && node.children.size > 0))) {
      return 'walk';
    }
    return 'skip';
  }

  add(path: SelectorPath, value: unknown): void {
    if (this.values.length >= maxCapturedValues) return;
    this.values.push({ path, selector: formatDataSelector(path), value });
  }

  /**
   * Captures inside an already parsed value (a captured object, a selected object record): what walking its bytes
   * would have captured, in the same order.
   */
  addWithin(path: SelectorPath, node: CaptureNode | undefined, value: unknown): void {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
      const child = node?.children.get(key);
      const isObject = item !== null && typeof item === 'object' && !Array.isArray(item);
      if (Array.isArray(item)) continue;
      const action = this.action(child, key, isObject);
      if (action === 'capture') this.add([...path, key], item);
      if (action !== 'skip' && isObject) this.addWithin([...path, key], child, item);
    }
  }
}

/**
 * The value captured at a JSONPath (`cursors.next` and `$.cursors.next` are the same), the last occurrence like
 * `JSON.parse`; undefined when the body had none.
 */
export function capturedAt(captured: readonly CapturedValue[], path: string): unknown {
  const selector = formatDataSelector(parseDataSelector(path));
  for (let i = captured.length - 1; i >= 0; i -= 1) {
    if (captured[i]!.selector === selector) return captured[i]!.value;
  }
  return undefined;
}
