/**
 * `startGrpcTlsProxy()`: a secured Temporal frontend for tests — a TLS HTTP/2 endpoint (`node:http2`) in front of the
 * run's plain dev server, forwarding each gRPC call (headers, body, trailers; a cancel either way) over a plain
 * HTTP/2 session per client connection. It stands in for Temporal Cloud or an mTLS cluster in one of two modes:
 * `api-key` refuses a call without `authorization: Bearer <key>` with gRPC status UNAUTHENTICATED (16), as a
 * server checking API keys does; `mtls` refuses, in the TLS handshake, a client without a certificate from the CA.
 */
import {
  connect,
  constants,
  createSecureServer,
  type ClientHttp2Session,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { TestCertificates } from './tls-certificates.ts';

export type GrpcTlsProxyMode =
  { readonly kind: 'api-key'; readonly apiKey: string } | { readonly kind: 'mtls' };

export interface GrpcTlsProxy {
  /** `localhost:<port>` (the server certificate names `localhost`; a TLS server name cannot be an IP address). */
  readonly address: string;
  /** Calls passed on to the dev server. */
  readonly forwardedCalls: number;
  /** Calls refused with UNAUTHENTICATED (`api-key` mode). */
  readonly refusedCalls: number;
  /** TLS handshakes that failed (`mtls` mode: a client without an acceptable certificate). */
  readonly refusedHandshakes: number;
  close(): Promise<void>;
}

const unauthenticated = 16;

/** Listens on a free loopback port until `close()`. */
export async function startGrpcTlsProxy(options: {
  /** The plain gRPC server behind it (`host:port`). */
  readonly upstream: string;
  readonly certificates: TestCertificates;
  readonly mode: GrpcTlsProxyMode;
}): Promise<GrpcTlsProxy> {
  const { certificates, mode } = options;
  const [key, cert, ca] = await Promise.all(
    [certificates.serverKey, certificates.serverCert, certificates.caCert].map((path) => readFile(path)),
  );
  const mtls = mode.kind === 'mtls';
  const server = createSecureServer({ key, cert, ca, requestCert: mtls, rejectUnauthorized: mtls });
  const counts = { forwardedCalls: 0, refusedCalls: 0, refusedHandshakes: 0 };
  const upstreams = new Map<ServerHttp2Session, ClientHttp2Session>();

  server.on('tlsClientError', () => (counts.refusedHandshakes += 1));
  server.on('session', (session) => {
    const upstream = connect(`http://${options.upstream}`);
    upstream.on('error', () => session.destroy());
    session.on('error', () => undefined); // a client going away is not the proxy's failure
    session.on('close', () => {
      upstreams.delete(session);
      upstream.close();
    });
    upstreams.set(session, upstream);
  });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    if (mode.kind === 'api-key' && headers.authorization !== `Bearer ${mode.apiKey}`) {
      counts.refusedCalls += 1;
      stream.respond(
        {
          ':status': 200,
          'content-type': 'application/grpc',
          'grpc-status': String(unauthenticated),
          'grpc-message': 'a valid API key is required',
        },
        { endStream: true },
      );
      return;
    }
    const upstream = upstreams.get(stream.session as ServerHttp2Session);
    if (!upstream) {
      stream.close(constants.NGHTTP2_REFUSED_STREAM);
      return;
    }
    counts.forwardedCalls += 1;
    forward(stream, headers, upstream);
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `localhost:${port}`,
    get forwardedCalls() {
      return counts.forwardedCalls;
    },
    get refusedCalls() {
      return counts.refusedCalls;
    },
    get refusedHandshakes() {
      return counts.refusedHandshakes;
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const [session, upstream] of upstreams) {
        session.destroy();
        upstream.destroy();
      }
      await closed;
    },
  };
}

/** One gRPC call: the request's headers and body up, the response's headers, body and trailers down. */
function forward(
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  upstream: ClientHttp2Session,
): void {
  const request = upstream.request(withoutPseudoHeaders(headers, [':method', ':path']));
  let trailers: OutgoingHttpHeaders = {};
  request.on('error', () => {
    if (!stream.closed) stream.close(constants.NGHTTP2_INTERNAL_ERROR);
  });
  request.on('trailers', (received: IncomingHttpHeaders) => (trailers = withoutPseudoHeaders(received, [])));
  request.on('response', (received) => {
    const responseHeaders = withoutPseudoHeaders(received, [':status']);
    if ('grpc-status' in received) {
      // Trailers-only (an error before any message): the status travels in the headers.
      stream.respond(responseHeaders, { endStream: true });
      return;
    }
    stream.respond(responseHeaders, { waitForTrailers: true });
    request.pipe(stream);
  });
  stream.on('wantTrailers', () => stream.sendTrailers(trailers));
  // A cancel either way (a worker stopping its long polls, the server resetting a call) reaches the other side.
  stream.on('close', () => {
    if (!request.closed) request.close(constants.NGHTTP2_CANCEL);
  });
  request.on('close', () => {
    if (!stream.closed && request.rstCode !== undefined && request.rstCode !== constants.NGHTTP2_NO_ERROR)
      stream.close(request.rstCode);
  });
  stream.pipe(request);
}

/** The headers without HTTP/2 pseudo-headers (`:authority`, `:scheme`…) except the ones named. */
function withoutPseudoHeaders(headers: IncomingHttpHeaders, keep: readonly string[]): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith(':') && !keep.includes(name)) continue;
    out[name] = value;
  }
  return out;
}
