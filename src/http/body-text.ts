/** The start of a response body as text: what a status error quotes and what a response action's `content` matches. */
import type { ResponseBody } from './extract/byte-reader.ts';

/**
 * At most `maxBytes` of `body` as UTF-8 text; the rest is not read and the body is closed. A body that fails while
 * being read throws, unless `keepPartial` is set: then it gives what arrived before it failed (and a failure to
 * close it is ignored).
 */
export async function readBodyText(
  body: ResponseBody,
  maxBytes: number,
  options: { readonly keepPartial?: boolean } = {},
): Promise<string> {
  const iterator = Symbol.asyncIterator in body ? body[Symbol.asyncIterator]() : body[Symbol.iterator]();
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    while (size < maxBytes) {
      const next = await iterator.next();
      if (next.done === true) break;
      chunks.push(Buffer.from(next.value));
      size += next.value.byteLength;
    }
  } catch (error) {
    if (options.keepPartial !== true) throw error;
  } finally {
    if (options.keepPartial === true) await Promise.resolve(iterator.return?.()).catch(() => undefined);
    else await iterator.return?.();
  }
  return Buffer.concat(chunks).subarray(0, maxBytes).toString('utf8');
}
