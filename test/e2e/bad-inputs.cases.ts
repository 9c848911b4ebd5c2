/**
 * The bad-input matrix (`bad-inputs.test.ts` runs it): one row per way an API can answer badly — what the test's API
 * replies for one resource of the `hostile` source, and the classified outcome the product must give it: loaded
 * (exactly these keys, these records rejected by reason) or failed (this code and category, retried or not), with
 * nothing partial. The rows about responses are here, those about what records hold in `bad-inputs.record-cases.ts`.
 * docs/extraction.md, "Bad inputs and what happens", is this table for readers; keep them equal.
 */
import type { Kysely } from 'kysely';
import { expect } from 'vitest';
import type { Database } from '../../src/db/schema.ts';
import type { ErrorCategory } from '../../src/errors.ts';
import {
  dataBody,
  gzipBomb,
  recordTexts,
  replies,
  type HostileApi,
  type Reply,
} from '../helpers/hostile-api.ts';
import { nested, recordCases } from './bad-inputs.record-cases.ts';

/** The source every row is a resource of. */
export const source = 'hostile';
/** Its API key (`HOSTILE_API_KEY`): the redirect rows check where it went. */
export const apiKey = 'hostile-key-5f1c9a2e7b';

/** What a row expects of its resource; `rejected` counts the records refused, by reason code (default none). */
export type Outcome =
  /**
   * Loaded: the table holds exactly the keys `loaded`, after `attempts` attempts (default 1: an answer the API asked
   * to retry, with `Retry-After`, takes one more).
   */
  | {
      readonly loaded: readonly string[];
      readonly rejected?: Readonly<Record<string, number>>;
      readonly attempts?: number;
    }
  /** Failed with this code and category, retried (up to the budget) or not; the table holds nothing. */
  | {
      readonly failed: string;
      readonly category: ErrorCategory;
      readonly retried: boolean;
      readonly rejected?: Readonly<Record<string, number>>;
    };

/** What a row's check can look at. */
export interface CaseContext {
  readonly db: Kysely<Database>;
  /** The run's load. */
  readonly loadId: string;
  readonly api: HostileApi;
}

/** One row: what the API does for one resource, and what must come of it. */
export interface Case {
  /** What the API does. */
  readonly title: string;
  readonly resource: string;
  readonly reply: Reply;
  readonly outcome: Outcome;
  /** Endpoint keys over the default (`data_selector: data`, `single_page`). */
  readonly endpoint?: Readonly<Record<string, unknown>>;
  /**
   * The resource lands in a table with typed columns, registered as a migration would (key `id`, `count bigint`,
   * `ratio double precision`, `created_at timestamptz`), so coercions show; other rows get auto tables.
   */
  readonly typedTable?: true;
  /** Requests one attempt makes (default 1). */
  readonly requestsPerAttempt?: number;
  /** Further checks of what landed. */
  readonly check?: (context: CaseContext) => Promise<void> | void;
}

/** 2.5 MiB of good records before the fault: two batches (1 MiB each) are staged by then, and must not land. */
const manyGood = recordTexts('good', 24_000);
const manyGoodBody = dataBody(manyGood);

/** The matrix: the rows about responses, then those about records (`bad-inputs.record-cases.ts`). */
export const cases: readonly Case[] = [
  // Size first: the slow rows start first (the run loads four resources at a time).
  {
    title: 'gzip bomb after the document (10 KB → 4 GiB of trailing spaces)',
    resource: 'gzip_bomb_trailing',
    reply: replies.encoded(gzipBomb(dataBody(['{"id":"1"}']), 4096), 'gzip, gzip'),
    outcome: { failed: 'RESPONSE_TOO_LARGE', category: 'response-shape', retried: false },
  },
  {
    title: 'gzip bomb inside the record list (10 KB → 4 GiB of spaces)',
    resource: 'gzip_bomb_in_list',
    reply: replies.encoded(gzipBomb('{"data":[', 4096), 'gzip, gzip'),
    outcome: { failed: 'RECORD_TOO_LARGE', category: 'response-shape', retried: false },
  },
  {
    title: 'corrupt gzip body',
    resource: 'gzip_corrupt',
    reply: replies.encoded(Buffer.from('this is not gzip at all'), 'gzip'),
    outcome: { failed: 'RESPONSE_ENCODING', category: 'response-shape', retried: false },
  },
  {
    title: 'malformed JSON after 2 MiB of good records',
    resource: 'malformed_json',
    reply: replies.body(dataBody([...manyGood, '{"id":"bad",}'])),
    outcome: { failed: 'INVALID_JSON', category: 'response-shape', retried: false },
  },
  {
    title: 'truncated JSON, Content-Length matching the cut body',
    resource: 'truncated_length_matches',
    reply: replies.body(manyGoodBody.slice(0, manyGoodBody.length - 30)),
    outcome: { failed: 'TRUNCATED_BODY', category: 'response-shape', retried: false },
  },
  {
    title: 'truncated JSON, keep-alive connection closed before Content-Length',
    resource: 'truncated_length_mismatch',
    reply: replies.cutShort(manyGoodBody, manyGoodBody.length - 30, 'content-length'),
    outcome: { failed: 'HTTP_BODY_INCOMPLETE', category: 'http-transient', retried: true },
  },
  {
    title: 'truncated JSON, Connection: close before Content-Length',
    resource: 'truncated_connection_close',
    reply: replies.cutShort(manyGoodBody, manyGoodBody.length - 30, 'connection-close'),
    outcome: { failed: 'HTTP_BODY_INCOMPLETE', category: 'http-transient', retried: true },
  },
  {
    title: 'truncated JSON, chunked body cut by a closed connection',
    resource: 'truncated_chunked',
    reply: replies.cutShort(manyGoodBody, manyGoodBody.length - 30, 'chunked'),
    outcome: { failed: 'HTTP_BODY_INCOMPLETE', category: 'http-transient', retried: true },
  },
  {
    title: 'page 2 of 2 malformed after a good page 1',
    resource: 'page_two_malformed',
    endpoint: {
      paginator: { type: 'page_number', base_page: 1, page_param: 'page', total_path: 'total_pages' },
    },
    requestsPerAttempt: 2,
    reply: replies.pages([
      replies.body(dataBody(manyGood, ',"total_pages":2')),
      replies.body('{"data":[{"id":"p2-1"},{"id":"p2-2"]]}'),
    ]),
    outcome: { failed: 'INVALID_JSON', category: 'response-shape', retried: false },
  },
  {
    title: 'a body nested 200 000 levels deep',
    resource: 'nested_body',
    reply: replies.body(`{"data":[{"id":"1","deep":${nested(200_000)}}]}`),
    outcome: { failed: 'NESTING_TOO_DEEP', category: 'response-shape', retried: false },
  },
  {
    title: 'HTML page with 200',
    resource: 'html_200',
    reply: replies.body('<!DOCTYPE html><html><body><h1>Maintenance</h1></body></html>', 'text/html'),
    outcome: { failed: 'RESPONSE_HTML', category: 'response-shape', retried: false },
  },
  {
    title: 'a JSON body labelled text/plain',
    resource: 'json_as_text_plain',
    reply: replies.body(dataBody(['{"id":"1"}']), 'text/plain; charset=utf-8'),
    outcome: { loaded: ['1'] },
  },
  {
    title: 'a JSON body labelled application/octet-stream',
    resource: 'json_as_octet_stream',
    reply: replies.body(dataBody(['{"id":"1"}']), 'application/octet-stream'),
    outcome: { loaded: ['1'] },
  },
  {
    title: 'plain text labelled text/plain',
    resource: 'text_not_json',
    reply: replies.body('OK', 'text/plain'),
    outcome: { failed: 'BODY_NOT_JSON', category: 'response-shape', retried: false },
  },
  {
    title: 'a JSON body labelled application/xml',
    resource: 'json_as_xml',
    reply: replies.body(dataBody(['{"id":"1"}']), 'application/xml'),
    outcome: { failed: 'RESPONSE_CONTENT_TYPE', category: 'response-shape', retried: false },
  },
  {
    title: 'a JSON body without Content-Type',
    resource: 'json_no_content_type',
    reply: replies.body(dataBody(['{"id":"1"}']), null),
    outcome: { loaded: ['1'] },
  },
  {
    title: 'JSON that is not JSON (plain text with application/json)',
    resource: 'not_json',
    reply: replies.body('OK'),
    outcome: { failed: 'BODY_NOT_JSON', category: 'response-shape', retried: false },
  },
  {
    title: 'the data selector missing from the body',
    resource: 'selector_missing',
    reply: replies.body('{"items":[{"id":"1"}]}'),
    outcome: { failed: 'SELECTOR_NOT_FOUND', category: 'response-shape', retried: false },
  },
  {
    title: 'an object where a list is expected',
    resource: 'object_not_list',
    reply: replies.body('{"data":{"id":"1","name":"alone"}}'),
    outcome: { loaded: ['1'] },
  },
  {
    title: 'a string where a list is expected',
    resource: 'scalar_not_list',
    reply: replies.body('{"data":"nothing here"}'),
    outcome: {
      failed: 'ALL_RECORDS_REJECTED',
      category: 'response-shape',
      retried: false,
      rejected: { 'not-an-object': 1 },
    },
  },
  {
    title: '204 No Content',
    resource: 'no_content',
    reply: replies.status(204),
    outcome: { loaded: [] },
  },
  {
    title: '401 Unauthorized',
    resource: 'unauthorized',
    reply: replies.status(401),
    outcome: { failed: 'HTTP_UNAUTHORIZED', category: 'auth', retried: false },
  },
  {
    title: '403 Forbidden',
    resource: 'forbidden',
    reply: replies.status(403),
    outcome: { failed: 'HTTP_FORBIDDEN', category: 'auth', retried: false },
  },
  {
    title: '404 Not Found',
    resource: 'not_found',
    reply: replies.status(404),
    outcome: { failed: 'HTTP_CLIENT_ERROR', category: 'http-permanent', retried: false },
  },
  {
    title: '429 Too Many Requests with Retry-After: 1, then the records',
    resource: 'rate_limited',
    reply: replies.sequence([
      replies.status(429, { 'retry-after': '1' }),
      replies.body(dataBody(['{"id":"1"}'])),
    ]),
    outcome: { loaded: ['1'], attempts: 2 },
    check: ({ api }) => expectWaited(api, '/r/rate_limited', 1000),
  },
  {
    title: '503 Service Unavailable with Retry-After: 1, then the records',
    resource: 'unavailable',
    reply: replies.sequence([
      replies.status(503, { 'retry-after': '1' }),
      replies.body(dataBody(['{"id":"1"}'])),
    ]),
    outcome: { loaded: ['1'], attempts: 2 },
    check: ({ api }) => expectWaited(api, '/r/unavailable', 1000),
  },
  {
    title: '500 Internal Server Error',
    resource: 'server_error',
    reply: replies.status(500),
    outcome: { failed: 'HTTP_SERVER_ERROR', category: 'http-transient', retried: true },
  },
  {
    title: 'a redirect to the same origin (credentials follow)',
    resource: 'redirect_same_origin',
    reply: replies.redirect('/moved', 'same-origin'),
    outcome: { loaded: ['1'] },
    check: ({ api }) => {
      const [hop] = api.requests('/moved');
      expect(hop?.headers['x-api-key']).toBe(apiKey);
    },
  },
  {
    title: 'a redirect to another origin (credentials dropped)',
    resource: 'redirect_other_origin',
    reply: replies.redirect('/moved', 'other-origin'),
    outcome: { loaded: ['1'] },
    check: ({ api }) => {
      const hops = api.requests('/moved', 'other');
      expect(hops).toHaveLength(1);
      expect(hops[0]?.headers['x-api-key']).toBeUndefined();
      expect(JSON.stringify(hops)).not.toContain(apiKey);
    },
  },
  ...recordCases,
];

/** The second request to `path` came at least `ms` after the first: the retry waited as `Retry-After` asked. */
function expectWaited(api: HostileApi, path: string, ms: number): void {
  const [first, second] = api.requests(path);
  expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(ms);
}

/**
 * `loaded 2, rejected too-deep ×1` / `loaded 1 at attempt 2` / `failed HTTP_FORBIDDEN (auth, not retried)`: a row's
 * outcome, for its name.
 */
export function describeOutcome(outcome: Outcome): string {
  const rejected = Object.entries(outcome.rejected ?? {})
    .map(([code, n]) => `, rejected ${code} ×${n}`)
    .join('');
  if ('loaded' in outcome) {
    const attempt = outcome.attempts === undefined ? '' : ` at attempt ${outcome.attempts}`;
    return `loaded ${outcome.loaded.length}${attempt}${rejected}`;
  }
  return `failed ${outcome.failed} (${outcome.category}, ${outcome.retried ? 'retried' : 'not retried'})${rejected}`;
}
