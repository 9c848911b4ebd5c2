/**
 * Turns records into response-body chunks of roughly 64 KiB, lazily: a body of millions of records is never held
 * in memory, only the chunk being filled. Records are written straight into the chunk's buffer.
 *
 * Chunk buffers are recycled once the socket is done with them ({@link recycleChunk}): V8 only collects dead
 * off-heap buffers after tens of MB of them pile up, which would show as RSS growth while streaming.
 */
import { JsonByteWriter } from './json-writer.ts';

/** A chunk is handed out once it holds at least this many bytes. */
export const bodyChunkSize = 64 * 1024;

/** Room after the chunk size, so that the record that crosses it rarely forces a larger buffer. */
const slack = 16 * 1024;
const poolBufferSize = bodyChunkSize + slack;

/** Recycled chunk buffers ready for reuse (bounded: 32 × 80 KiB). */
const freeBuffers: Buffer[] = [];
const maxFreeBuffers = 32;
/** The chunks handed out (views) → the pool buffer they live in. */
const backingOf = new WeakMap<Buffer, Buffer>();

function takeBuffer(): Buffer {
  return freeBuffers.pop() ?? Buffer.allocUnsafeSlow(poolBufferSize);
}

function chunkOf(buffer: Buffer, used: number): Buffer {
  const chunk = buffer.subarray(0, used);
  // A writer that had to grow holds a one-off buffer: only pool-sized ones go back to the pool.
  if (buffer.length === poolBufferSize) backingOf.set(chunk, buffer);
  return chunk;
}

/**
 * Gives a chunk's memory back for reuse. Call it only when nothing will read the chunk again — from the socket's
 * write callback. Chunks that did not come from {@link recordChunks} are ignored.
 */
export function recycleChunk(chunk: Buffer): void {
  const backing = backingOf.get(chunk);
  if (backing === undefined) return;
  backingOf.delete(chunk);
  if (freeBuffers.length < maxFreeBuffers) freeBuffers.push(backing);
}

/** Writes record `index` (its JSON text, nothing else) at the writer's position. */
export type RecordWriter = (writer: JsonByteWriter, index: number) => void;

/** `prefix`, records `start` to `end` (exclusive) joined by commas, then `suffix`, in chunks of ≈64 KiB. */
export function* recordChunks(
  prefix: string,
  start: number,
  end: number,
  writeRecord: RecordWriter,
  suffix: string,
): Generator<Buffer, void, undefined> {
  const writer = new JsonByteWriter(takeBuffer());
  writer.text(prefix);
  for (let index = start; index < end; index += 1) {
    if (index > start) writer.byte(0x2c); // ','
    writeRecord(writer, index);
    if (writer.position >= bodyChunkSize) {
      yield chunkOf(writer.buffer, writer.position);
      writer.buffer = takeBuffer();
      writer.position = 0;
    }
  }
  writer.text(suffix);
  yield chunkOf(writer.buffer, writer.position);
}

/** All chunks as one string (for small bodies in tests). */
export function chunksToText(chunks: Iterator<Buffer>): string {
  const parts: Buffer[] = [];
  for (let next = chunks.next(); next.done !== true; next = chunks.next()) parts.push(next.value);
  return Buffer.concat(parts).toString('utf8');
}
