/**
 * What a route handler returns: status, headers and a body that is either absent, a small buffer, or a lazy stream
 * of chunks. The server applies faults to it and writes it; handlers never touch the socket.
 */
import type { ServedRange } from './request-log.ts';

export type ReplyBody =
  | { readonly type: 'none' }
  | { readonly type: 'bytes'; readonly bytes: Buffer }
  /** Chunks are produced on demand; calling `chunks()` again starts the body over. */
  | { readonly type: 'stream'; readonly chunks: () => Iterator<Buffer> };

export interface Reply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: ReplyBody;
  /** The dataset records this reply carries (for the request log). */
  readonly served?: ServedRange;
}

export const jsonType = 'application/json; charset=utf-8';
export const problemType = 'application/problem+json; charset=utf-8';

/** A JSON reply of a small value. */
export function jsonReply(
  status: number,
  value: unknown,
  headers: Readonly<Record<string, string>> = {},
): Reply {
  return {
    status,
    headers: { 'content-type': jsonType, ...headers },
    body: { type: 'bytes', bytes: Buffer.from(JSON.stringify(value)) },
  };
}

/** A reply streamed from chunks (a dataset body). */
export function streamReply(
  chunks: () => Iterator<Buffer>,
  served: ServedRange | undefined,
  headers: Readonly<Record<string, string>> = {},
): Reply {
  return {
    status: 200,
    headers: { 'content-type': jsonType, ...headers },
    body: { type: 'stream', chunks },
    ...(served === undefined ? {} : { served }),
  };
}

/** An RFC 9457 problem+json reply `{type, title, status, detail}`. */
export function problemReply(
  status: number,
  title: string,
  detail: string,
  headers: Readonly<Record<string, string>> = {},
): Reply {
  const type = `https://api.example.com/problems/${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return {
    status,
    headers: { 'content-type': problemType, ...headers },
    body: { type: 'bytes', bytes: Buffer.from(JSON.stringify({ type, title, status, detail })) },
  };
}

/** 204 No Content. */
export function noContentReply(): Reply {
  return { status: 204, headers: {}, body: { type: 'none' } };
}

/** The chunks of any body, from the start. */
export function bodyChunks(body: ReplyBody): Iterator<Buffer> {
  switch (body.type) {
    case 'none':
      return [][Symbol.iterator]();
    case 'bytes':
      return [body.bytes][Symbol.iterator]();
    case 'stream':
      return body.chunks();
  }
}
