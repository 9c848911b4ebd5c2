/**
 * Writes a reply to the socket with backpressure (waits for 'drain' whenever `write()` says the buffer is full, so a
 * slow client never makes the server buffer the body), and with the body-shaping faults: slow chunks, truncation
 * (a `Content-Length` larger than what is sent, then the connection ends) and a reset mid-body.
 */
import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { recycleChunk } from './json-body.ts';
import { bodyChunks, type Reply } from './reply.ts';

/** How to distort the body, if at all. */
export interface BodyShaping {
  /** Wait this long before each piece of the body. */
  readonly delayMs?: number;
  /** Re-cut the body into pieces of this many bytes (with `delayMs`: a slow trickle). */
  readonly pieceBytes?: number;
  /** Stop after this many body bytes… */
  readonly stopAfterBytes?: number;
  /** …by ending the socket after declaring a longer Content-Length (`truncate`), or destroying it (`reset`). */
  readonly stopWith?: 'truncate' | 'reset';
  /** The `Content-Length` to declare (for `truncate`: the full length, more than is sent). */
  readonly declaredLength?: number;
}

/** What happened to the response. */
export interface WriteResult {
  readonly outcome: 'complete' | 'truncated' | 'reset' | 'aborted';
  readonly bytes: number;
}

/**
 * Byte length of a reply's body, counting at most up to `cap` (a stream body is generated once, in constant
 * memory; the count stops early past `cap`).
 */
export function bodyLength(reply: Reply, cap: number = Number.POSITIVE_INFINITY): number {
  let total = 0;
  const chunks = bodyChunks(reply.body);
  for (let next = chunks.next(); next.done !== true && total <= cap; next = chunks.next())
    total += next.value.length;
  return total;
}

/**
 * Sends status, headers and body. Small bodies get a `Content-Length`; streams are chunked unless truncation needs
 * a declared length. Never throws for a client that went away: the outcome says `aborted`.
 */
export async function writeReply(
  res: ServerResponse,
  reply: Reply,
  shaping: BodyShaping,
  signal: AbortSignal,
  onProgress: (bytes: number) => void = () => undefined,
): Promise<WriteResult> {
  const headers: Record<string, string | number> = { ...reply.headers };
  if (reply.body.type === 'bytes') headers['content-length'] = reply.body.bytes.length;
  if (shaping.declaredLength !== undefined) headers['content-length'] = shaping.declaredLength;
  if (reply.body.type === 'none' && reply.status !== 204 && reply.status !== 304)
    headers['content-length'] = 0;
  res.writeHead(reply.status, headers);
  if (reply.body.type === 'none') {
    res.end();
    return { outcome: 'complete', bytes: 0 };
  }
  res.flushHeaders();

  let bytes = 0;
  let yieldedAt = 0;
  const limit = shaping.stopAfterBytes ?? Number.POSITIVE_INFINITY;
  const chunks = pieces(bodyChunks(reply.body), shaping.pieceBytes);
  try {
    for (let next = chunks.next(); next.done !== true; next = chunks.next()) {
      if (res.destroyed || signal.aborted) return { outcome: 'aborted', bytes };
      if (shaping.delayMs !== undefined && shaping.delayMs > 0) {
        await sleep(shaping.delayMs, undefined, { signal });
        if (res.destroyed) return { outcome: 'aborted', bytes };
      }
      let chunk = next.value;
      if (bytes + chunk.length >= limit) {
        chunk = chunk.subarray(0, Math.max(0, limit - bytes));
        await writeAndFlush(res, chunk);
        bytes += chunk.length;
        onProgress(bytes);
        return stop(res, shaping.stopWith ?? 'reset', bytes);
      }
      bytes += chunk.length;
      onProgress(bytes);
      const written = chunk;
      if (!res.write(written, () => recycleChunk(written))) {
        await drained(res, signal);
      } else if (bytes - yieldedAt >= yieldEveryBytes) {
        // A fast client never fills the socket buffer, so 'drain' never pauses us: give other requests and timers
        // a turn every few hundred KiB instead of generating a whole 400 MB body in one go.
        yieldedAt = bytes;
        await yieldToEventLoop();
      }
    }
  } catch {
    return { outcome: 'aborted', bytes };
  }
  if (res.destroyed) return { outcome: 'aborted', bytes };
  res.end();
  await finished(res);
  return { outcome: res.writableFinished ? 'complete' : 'aborted', bytes };
}

const yieldEveryBytes = 512 * 1024;

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Ends the exchange early: FIN after a short body (truncate) or an abrupt close (reset). */
function stop(res: ServerResponse, how: 'truncate' | 'reset', bytes: number): WriteResult {
  const socket = res.socket;
  if (how === 'truncate') {
    socket?.end();
    // The response never completes by itself: close it once the peer has the FIN.
    socket?.once('close', () => res.destroy());
    return { outcome: 'truncated', bytes };
  }
  socket?.destroy();
  res.destroy();
  return { outcome: 'reset', bytes };
}

/** Writes a chunk and waits until it reached the socket, so that what follows (end/destroy) cannot overtake it. */
async function writeAndFlush(res: ServerResponse, chunk: Buffer): Promise<void> {
  if (chunk.length === 0) return;
  await new Promise<void>((resolve) => {
    res.write(chunk, () => resolve());
  });
}

/** Resolves on 'drain', or when the response closes or the sandbox stops (the caller then sees it and gives up). */
function drained(res: ServerResponse, signal: AbortSignal): Promise<void> {
  if (res.destroyed || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
    signal.addEventListener('abort', done);
  });
}

async function finished(res: ServerResponse): Promise<void> {
  if (res.writableFinished || res.destroyed) return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      res.off('finish', done);
      res.off('close', done);
      resolve();
    };
    res.on('finish', done);
    res.on('close', done);
  });
}

/** Re-cuts chunks into pieces of `size` bytes (or passes them through when no size is given). */
function* pieces(chunks: Iterator<Buffer>, size: number | undefined): Generator<Buffer, void, undefined> {
  for (let next = chunks.next(); next.done !== true; next = chunks.next()) {
    if (size === undefined) {
      yield next.value;
      continue;
    }
    for (let offset = 0; offset < next.value.length; offset += size)
      yield next.value.subarray(offset, offset + size);
  }
}
