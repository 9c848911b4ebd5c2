/**
 * What a 2xx response's `Content-Type` says about its body, before the body is read: JSON to parse, an HTML page
 * (a maintenance or login page), or another type that is not JSON. `text/plain` and `application/octet-stream`
 * count as JSON, as a missing type does: many APIs label JSON so and dlt reads it; a body that is not JSON then fails
 * when it is parsed (`BODY_NOT_JSON`).
 */

/** How a 2xx body of some content type is treated. */
export type BodyTypeVerdict = 'json' | 'html' | 'not-json';

/** Types that say nothing about the body beyond "text" or "bytes": read like a missing `Content-Type`. */
const uninformativeTypes = new Set(['text/plain', 'application/octet-stream']);

/** The media type of a `Content-Type` value, lowercased and without parameters; undefined when absent or empty. */
export function mediaTypeOf(contentType: string | undefined): string | undefined {
  const mime = contentType?.split(';')[0]?.trim().toLowerCase();
  return mime === '' ? undefined : mime;
}

/** The verdict on a 2xx body whose media type is `mime` (from {@link mediaTypeOf}; undefined: no type given). */
export function judgeBodyType(mime: string | undefined): BodyTypeVerdict {
  if (mime === undefined || uninformativeTypes.has(mime)) return 'json';
  if (mime === 'application/json' || mime === 'text/json' || mime.endsWith('+json')) return 'json';
  return mime === 'text/html' || mime === 'application/xhtml+xml' ? 'html' : 'not-json';
}
