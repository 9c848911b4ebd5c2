/**
 * `startHostileApi(routes)`: an HTTP API of a test's own on loopback (node:http, in-process) whose every route answers
 * as the test says — broken bodies, lying headers, cut connections, redirects — and that logs each request's path
 * and headers, so a test can count attempts and see which credentials reached which origin. It listens on two ports,
 * i.e. two origins (`url`, `otherUrl`) serving the same routes, for redirects to another origin. The `replies`
 * helpers build the hostile answers the bad-input matrix (`test/e2e/bad-inputs.cases.ts`) uses.
 */
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';

/** Which of the API's two origins a request came to. */
export type Origin = 'main' | 'other';

/** Answers one request; `urls` are the API's two origins. */
export type Reply = (
  req: IncomingMessage,
  res: ServerResponse,
  urls: { readonly main: string; readonly other: string },
) => void;

/** One request the API received. */
export interface LoggedRequest {
  readonly origin: Origin;
  readonly path: string;
  readonly query: string;
  readonly headers: IncomingHttpHeaders;
  /** When it arrived (`performance.now()`): the gap between two attempts. */
  readonly at: number;
}

export interface HostileApi {
  /** The main origin (`http://127.0.0.1:<port>`): the one a source's `base_url` names. */
  readonly url: string;
  /** The other origin, serving the same routes. */
  readonly otherUrl: string;
  /** The requests to `path` (without the query) on `origin` (default main), in arrival order. */
  requests(path: string, origin?: Origin): readonly LoggedRequest[];
  close(): Promise<void>;
}

/** Starts the API on 127.0.0.1; `routes` maps a path (without the query) to its reply; other paths get a 404. */
export async function startHostileApi(routes: ReadonlyMap<string, Reply>): Promise<HostileApi> {
  const log: LoggedRequest[] = [];
  const urls = { main: '', other: '' };
  const serve = (origin: Origin): Server =>
    createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      log.push({
        origin,
        path: url.pathname,
        query: url.search,
        headers: req.headers,
        at: performance.now(),
      });
      const reply = routes.get(url.pathname);
      if (reply === undefined) res.writeHead(404, { 'content-type': 'application/json' }).end('{}');
      else reply(req, res, urls);
    });
  const servers = [serve('main'), serve('other')] as const;
  for (const server of servers) await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  [urls.main, urls.other] = servers.map(
    (server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
  ) as [string, string];
  return {
    url: urls.main,
    otherUrl: urls.other,
    requests: (path, origin = 'main') =>
      log.filter((entry) => entry.path === path && entry.origin === origin),
    close: async () => {
      for (const server of servers) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  };
}

/** `{"id":"<prefix>-<i>","name":…}` records of about 100 bytes each, as JSON texts. */
export function recordTexts(prefix: string, count: number): string[] {
  return Array.from(
    { length: count },
    (_, i) => `{"id":"${prefix}-${i}","name":"record ${i} of ${prefix}","note":"${'x'.repeat(48)}"}`,
  );
}

/** `{"data":[…]}` of the given record texts (and further members after the list). */
export function dataBody(texts: readonly string[], after = ''): string {
  return `{"data":[${texts.join(',')}]${after}}`;
}

/** Replies, each one way an API can answer badly. */
export const replies = {
  /** A response with this body and content type (none: no `Content-Type` header at all), and a true length. */
  body(body: string | Buffer, contentType: string | null = 'application/json', status = 200): Reply {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    return (_req, res) => {
      res.writeHead(status, {
        ...(contentType === null ? {} : { 'content-type': contentType }),
        'content-length': String(bytes.length),
      });
      res.end(bytes);
    };
  },

  /**
   * The first `sentBytes` of `body`, then the connection is destroyed: with the full `Content-Length` (on a
   * keep-alive connection, or announcing `Connection: close`), or chunked.
   */
  cutShort(
    body: string,
    sentBytes: number,
    framing: 'content-length' | 'connection-close' | 'chunked',
  ): Reply {
    const bytes = Buffer.from(body);
    return (_req, res) => {
      res.writeHead(200, {
        'content-type': 'application/json',
        ...(framing === 'chunked' ? {} : { 'content-length': String(bytes.length) }),
        ...(framing === 'connection-close' ? { connection: 'close' } : {}),
      });
      res.write(bytes.subarray(0, sentBytes), () => res.destroy());
    };
  },

  /** A status with a small JSON error body (none for a 204), and these headers (`Retry-After`, say). */
  status(status: number, headers: Readonly<Record<string, string>> = {}): Reply {
    return (_req, res) => {
      if (status === 204) res.writeHead(204, headers).end();
      else
        res
          .writeHead(status, { 'content-type': 'application/json', ...headers })
          .end(`{"error":"status ${status}"}`);
    };
  },

  /** The Nth request to the route gets `replies[N - 1]`; the requests after the last reply get the last one. */
  sequence(sequence: readonly [Reply, ...Reply[]]): Reply {
    let served = 0;
    return (req, res, urls) => {
      const reply = sequence[Math.min(served, sequence.length - 1)] as Reply;
      served += 1;
      reply(req, res, urls);
    };
  },

  /** A 302 to `path` on the same origin, or on the API's other origin. */
  redirect(path: string, to: 'same-origin' | 'other-origin'): Reply {
    return (_req, res, urls) => {
      res.writeHead(302, { location: to === 'same-origin' ? path : `${urls.other}${path}` }).end();
    };
  },

  /** Compressed bytes as they are, with this `Content-Encoding`. */
  encoded(bytes: Buffer, contentEncoding: string): Reply {
    return (_req, res) => {
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-encoding': contentEncoding,
        'content-length': String(bytes.length),
      });
      res.end(bytes);
    };
  },

  /** Page `page` (query parameter `page`, from 1) of a paginated resource: `pages[page - 1]`. */
  pages(pages: readonly Reply[]): Reply {
    return (req, res, urls) => {
      const page = Number(new URL(req.url ?? '/', 'http://localhost').searchParams.get('page') ?? '1');
      const reply = pages[page - 1];
      if (reply === undefined) res.writeHead(404).end();
      else reply(req, res, urls);
    };
  },
};

/**
 * A gzip bomb: `head`, then `mebibytes` MiB of spaces, gzipped twice (`Content-Encoding: gzip, gzip`). The inner
 * layer is one small gzip member of 1 MiB of spaces repeated (gunzip reads concatenated members as one stream), the
 * outer layer squeezes those repeats: 4 GiB of spaces come to about 10 KB, built in milliseconds.
 */
export function gzipBomb(head: string, mebibytes: number): Buffer {
  const member = gzipSync(Buffer.alloc(1024 * 1024, 0x20), { level: 9 });
  const inner = Buffer.concat([
    gzipSync(Buffer.from(head)),
    ...Array.from({ length: mebibytes }, () => member),
  ]);
  return gzipSync(inner, { level: 9 });
}
