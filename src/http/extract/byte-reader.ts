/**
 * A growable window over a streamed body. Chunks are appended to one buffer; bytes before `mark` (and before
 * `retainFrom`, when set) are dropped on the next fill, so memory holds only what is still unfinished — a partial
 * record, or a value being buffered on purpose — plus one chunk. Positions held by callers shift by the amount
 * `fill()` returns.
 */
import { Buffer } from 'node:buffer';

const initialCapacity = 256 * 1024;

/** A body as streamed bytes: an undici/Node stream, a web stream, an async generator, or simply an array of chunks. */
export type ResponseBody = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/** The bytes of one body that are still needed, and the position in them. */
export class ByteReader {
  /** The valid bytes, exactly: `view.length` is the end of the data (`Buffer#indexOf` relies on it). */
  view: Buffer;
  /** Next byte to look at. */
  pos = 0;
  /** Bytes before this position are no longer needed. */
  mark = 0;
  /** When ≥ 0, bytes from here on are kept even if `mark` moves past them. */
  retainFrom = -1;
  /** Bytes dropped before `view[0]`: `dropped + pos` is an offset in the body. */
  dropped = 0;
  /** Bytes received so far. */
  received = 0;
  /** The body has ended. */
  ended = false;

  private storage: Buffer;
  private readonly iterator: AsyncIterator<Uint8Array> | Iterator<Uint8Array>;

  constructor(body: ResponseBody) {
    this.storage = Buffer.allocUnsafe(initialCapacity);
    this.view = this.storage.subarray(0, 0);
    this.iterator = Symbol.asyncIterator in body ? body[Symbol.asyncIterator]() : body[Symbol.iterator]();
  }

  /** Bytes after `pos`. */
  get available(): number {
    return this.view.length - this.pos;
  }

  /**
   * Appends the next non-empty chunk. Returns how far existing bytes moved left (subtract it from positions you
   * hold), or -1 once the body has ended.
   */
  async fill(): Promise<number> {
    for (;;) {
      if (this.ended) return -1;
      const next = await this.iterator.next();
      if (next.done === true) {
        this.ended = true;
        return -1;
      }
      const chunk = next.value;
      if (chunk.byteLength === 0) continue;
      this.received += chunk.byteLength;
      return this.append(chunk);
    }
  }

  /** Stops the body (e.g. cancels the HTTP response) when extraction ends early. */
  async close(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    try {
      await this.iterator.return?.();
    } catch {
      // The body is being abandoned; its own failure to close is not ours to report.
    }
  }

  private append(chunk: Uint8Array): number {
    const end = this.view.length;
    const keepFrom = this.retainFrom >= 0 ? Math.min(this.mark, this.retainFrom) : this.mark;
    const kept = end - keepFrom;
    const size = kept + chunk.byteLength;
    if (size > this.storage.length) {
      const grown = Buffer.allocUnsafe(Math.max(size, this.storage.length * 2));
      this.storage.copy(grown, 0, keepFrom, end);
      this.storage = grown;
    } else if (keepFrom > 0 && kept > 0) {
      this.storage.copyWithin(0, keepFrom, end);
    }
    this.storage.set(chunk, kept);
    this.view = this.storage.subarray(0, size);
    this.pos -= keepFrom;
    this.mark -= keepFrom;
    if (this.retainFrom >= 0) this.retainFrom -= keepFrom;
    this.dropped += keepFrom;
    return keepFrom;
  }
}
