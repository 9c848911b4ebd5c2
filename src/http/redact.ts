/**
 * Redaction of everything the HTTP layer puts into a message or an error: URLs (credential query parameters, by
 * name or by value) and free text such as body excerpts (every known secret value, in the forms it can take on the
 * wire: as is, URL-encoded, form-encoded, JSON-escaped, and inside an HTTP basic header).
 */
import { isSensitiveName } from '../config/secrets.ts';

/** What replaces a secret. */
export const redactedMark = 'REDACTED';

/** Removes secrets from text and URLs. Build one per request from the credentials in play. */
export interface Redactor {
  /** The text with every known secret value replaced by `REDACTED`. */
  text(value: string): string;
  /** The URL with credential query values (sensitive names, known secret values) replaced; then `text` applied. */
  url(value: string): string;
  /**
   * An excerpt (a quoted window of a body, possibly cut with `…`) with every known secret replaced — also the part
   * of one that the window's edges cut (3 characters or more), which `text` cannot recognise.
   */
  excerpt(value: string): string;
  /** The secret values it knows, longest first (to check that an outgoing request carries none of them). */
  readonly secrets: readonly string[];
}

/** The shortest part of a secret at an excerpt's edge that is redacted (shorter parts tell nothing). */
const minEdgeChars = 3;

/** `text` with a secret's tail at its start and a secret's head at its end replaced. */
function redactEdges(text: string, needles: readonly string[]): string {
  // The window's quotes and cut marks (`…"abc…`, `"…abc"`) are not part of the body.
  const start = /^[…"]*/.exec(text)?.[0] ?? '';
  const end = /[…"]*$/.exec(text.slice(start.length))?.[0] ?? '';
  let inner = text.slice(start.length, text.length - end.length);
  for (const needle of needles) {
    for (let k = Math.min(needle.length - 1, inner.length); k >= minEdgeChars; k--) {
      if (inner.startsWith(needle.slice(-k))) {
        inner = redactedMark + inner.slice(k);
        break;
      }
    }
    for (let k = Math.min(needle.length - 1, inner.length); k >= minEdgeChars; k--) {
      if (inner.endsWith(needle.slice(0, k))) {
        inner = inner.slice(0, inner.length - k) + redactedMark;
        break;
      }
    }
  }
  return start + inner + end;
}

function variantsOf(secret: string): string[] {
  const variants = new Set<string>([secret]);
  try {
    variants.add(encodeURIComponent(secret));
    variants.add(new URLSearchParams({ v: secret }).toString().slice(2));
  } catch {
    // A lone surrogate cannot be encoded: it cannot travel in a URL either.
  }
  variants.add(JSON.stringify(secret).slice(1, -1));
  return [...variants];
}

function replaceAll(text: string, needles: readonly string[]): string {
  let out = text;
  for (const needle of needles) if (needle !== '') out = out.split(needle).join(redactedMark);
  return out;
}

/**
 * A redactor for these secret values (empty ones are ignored). Basic credentials are given as `user:password` pairs
 * by the caller's auth, so their base64 form is added here too.
 */
export function createRedactor(secrets: readonly string[], basicPairs: readonly string[] = []): Redactor {
  const all = new Set<string>();
  for (const secret of secrets) if (secret !== '') for (const variant of variantsOf(secret)) all.add(variant);
  for (const pair of basicPairs) all.add(Buffer.from(pair, 'utf8').toString('base64'));
  const needles = [...all].sort((a, b) => b.length - a.length);
  const text = (value: string): string => replaceAll(value, needles);
  return {
    secrets: needles,
    text,
    excerpt: (value) => redactEdges(text(value), needles),
    url(value: string): string {
      const hash = value.indexOf('#');
      const withoutHash = hash < 0 ? value : value.slice(0, hash);
      const question = withoutHash.indexOf('?');
      if (question < 0) return text(withoutHash);
      const pairs = withoutHash
        .slice(question + 1)
        .split('&')
        .map((pair) => {
          const eq = pair.indexOf('=');
          if (eq < 0) return pair;
          const name = safeDecode(pair.slice(0, eq));
          return isSensitiveName(name) ? `${pair.slice(0, eq)}=${redactedMark}` : pair;
        });
      return text(`${withoutHash.slice(0, question)}?${pairs.join('&')}`);
    },
  };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

/** A redactor that knows no secret values (it still redacts credential query parameters by name). */
export const nameOnlyRedactor: Redactor = createRedactor([]);
