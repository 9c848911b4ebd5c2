/**
 * Content decoding of a response body as it streams: `gzip` (`x-gzip`), `deflate` (zlib-wrapped, as RFC 9110 says;
 * raw deflate streams are refused as corrupt), `br`, and chains of them (`Content-Encoding: gzip, br`), with a bound
 * on the decoded size so that a small compressed body cannot expand without limit (a "zip bomb").
 */
import { Readable, pipeline, type Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createUnzip } from 'node:zlib';

/** The encodings we ask for and can decode. */
export const acceptEncoding = 'gzip, deflate, br';

/** How decoding failed, for the caller to classify. */
export type DecodeFailure =
  | { readonly kind: 'too-large'; readonly limit: number }
  | { readonly kind: 'unsupported'; readonly encoding: string }
  | { readonly kind: 'corrupt'; readonly error: unknown };

/** The encodings of a `Content-Encoding` header, in the order they were applied (`identity` dropped). */
export function parseContentEncoding(header: string | readonly string[] | undefined): string[] {
  const text = typeof header === 'string' ? header : (header ?? []).join(',');
  return text
    .split(',')
    .map((item) => item.trim().toLowerCase())
    .filter((item) => item !== '' && item !== 'identity');
}

function decoderFor(encoding: string): Transform | undefined {
  switch (encoding) {
    case 'gzip':
    case 'x-gzip':
      return createGunzip();
    case 'deflate':
      return createUnzip();
    case 'br':
      return createBrotliDecompress();
    default:
      return undefined;
  }
}

/**
 * The decoded bytes of `source`. Errors of `source` itself pass through unchanged; decoding problems are thrown as
 * `fail(failure)` (the caller turns them into its errors). Stopping the iteration early destroys the source.
 */
export async function* decodeBody(
  source: AsyncIterable<Uint8Array>,
  encodings: readonly string[],
  maxBytes: number,
  fail: (failure: DecodeFailure) => Error,
): AsyncGenerator<Uint8Array> {
  const decoders: Transform[] = [];
  for (const encoding of [...encodings].reverse()) {
    const decoder = decoderFor(encoding);
    if (decoder === undefined) throw fail({ kind: 'unsupported', encoding });
    decoders.push(decoder);
  }
  const ours = new WeakSet<object>();
  const failWith = (failure: DecodeFailure): Error => {
    const error = fail(failure);
    ours.add(error);
    return error;
  };
  let total = 0;
  const count = (chunk: Uint8Array): Uint8Array => {
    total += chunk.byteLength;
    if (total > maxBytes) throw failWith({ kind: 'too-large', limit: maxBytes });
    return chunk;
  };
  if (decoders.length === 0) {
    for await (const chunk of source) yield count(chunk);
    return;
  }
  const sourceErrors = new WeakSet<object>();
  async function* tracked(): AsyncGenerator<Uint8Array> {
    try {
      yield* source;
    } catch (error) {
      if (typeof error === 'object' && error !== null) sourceErrors.add(error);
      throw error;
    }
  }
  let last: Readable = Readable.from(tracked(), { objectMode: false });
  for (const decoder of decoders) last = pipeline(last, decoder, () => undefined);
  try {
    for await (const chunk of last as AsyncIterable<Buffer>) yield count(chunk);
  } catch (error) {
    if (typeof error === 'object' && error !== null && sourceErrors.has(error)) throw error;
    if (typeof error === 'object' && error !== null && ours.has(error)) throw error;
    throw failWith({ kind: 'corrupt', error });
  } finally {
    last.destroy();
  }
}
