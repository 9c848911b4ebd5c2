/**
 * A Temporal codec server: the HTTP endpoint the Web UI and `temporal … --codec-endpoint` send encoded payloads to,
 * so that people see them decoded while Temporal stores only ciphertext. The protocol is Temporal's: `POST /decode`
 * and `POST /encode` with a JSON body `{"payloads": [{"metadata": {…}, "data": "…"}]}` (bytes in base64) and the
 * same shape back; the `X-Namespace` header names the namespace. Browsers reach it only from the UI's origin
 * (CORS, preflight answered); with a token, every request must carry `Authorization: Bearer <token>`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Payload, PayloadCodec } from '@temporalio/common';
import protos from '@temporalio/proto';
import { describeError } from '../../errors.ts';
import { logger } from '../../logging.ts';

const ProtoPayloads = protos.temporal.api.common.v1.Payloads;

/** The largest request body accepted by default: a page of history's payloads, with room to spare. */
export const maxBodyBytes = 32 * 1024 * 1024;

/** The headers the Web UI sends to a codec server (a preflight asks for them). */
const allowedHeaders = 'Content-Type, X-Namespace, Authorization';

export interface CodecServerOptions {
  readonly codec: PayloadCodec;
  /** Interface to listen on; the default, loopback, keeps decrypted payloads on this machine. */
  readonly host?: string;
  /** Port; 0 picks a free one. */
  readonly port?: number;
  /** The origins browsers may call from (the Web UI's: scheme, host and port). */
  readonly uiOrigins: readonly string[];
  /** When set, each request must carry `Authorization: Bearer <token>`. */
  readonly authToken?: string | undefined;
  /** The namespaces served; a request naming another (`X-Namespace`) is refused. Undefined: any. */
  readonly namespaces?: readonly string[] | undefined;
  /** A larger body is refused with 413 before it is read to the end (default `maxBodyBytes`). */
  readonly maxBodyBytes?: number;
}

export interface CodecServer {
  /** `http://host:port`, the endpoint to give the UI and the CLI. */
  readonly url: string;
  close(): Promise<void>;
}

/** Starts the codec server; resolves once it listens. */
export async function startCodecServer(options: CodecServerOptions): Promise<CodecServer> {
  const server = createServer((request, response) => {
    void handle(options, request, response).catch((error: unknown) => {
      logger.error({ err: describeError(error) }, 'codec server: request failed');
      if (!response.headersSent) reply(response, 500, { message: 'internal error' });
      else response.destroy();
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

async function handle(
  options: CodecServerOptions,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const origin = request.headers.origin;
  // A page of another origin gets nothing from here: not even a decode it could not read the answer of.
  if (origin !== undefined) {
    if (!options.uiOrigins.includes(origin)) {
      return reply(response, 403, { message: `origin ${origin} is not allowed (--ui-origin)` });
    }
    response.setHeader('Access-Control-Allow-Origin', origin);
    response.setHeader('Access-Control-Allow-Credentials', 'true');
    response.setHeader('Vary', 'Origin');
  }
  const path = new URL(request.url ?? '/', 'http://codec').pathname;
  const operation = path === '/encode' ? 'encode' : path === '/decode' ? 'decode' : undefined;
  if (operation === undefined) return reply(response, 404, { message: 'POST /encode or /decode' });
  if (request.method === 'OPTIONS') {
    response.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
    response.setHeader('Access-Control-Allow-Headers', allowedHeaders);
    response.setHeader('Access-Control-Max-Age', '600');
    // A UI served from the internet (Temporal Cloud) calling this server on loopback: Chrome asks first.
    if (header(request, 'access-control-request-private-network') === 'true') {
      response.setHeader('Access-Control-Allow-Private-Network', 'true');
    }
    response.writeHead(204).end();
    return;
  }
  if (request.method !== 'POST') return reply(response, 405, { message: 'POST /encode or /decode' });
  if (options.authToken !== undefined && !authorized(request.headers.authorization, options.authToken)) {
    response.setHeader('WWW-Authenticate', 'Bearer');
    return reply(response, 401, { message: 'missing or wrong Authorization: Bearer token' });
  }
  const namespace = header(request, 'x-namespace');
  if (
    namespace !== undefined &&
    options.namespaces !== undefined &&
    !options.namespaces.includes(namespace)
  ) {
    return reply(response, 403, {
      message: `namespace ${namespace} is not served here (it serves ${options.namespaces.join(', ')})`,
    });
  }
  const limit = options.maxBodyBytes ?? maxBodyBytes;
  const body = await readBody(request, limit);
  if (body === 'too large') {
    // The rest of the body is not read: the connection closes after the answer.
    response.setHeader('Connection', 'close');
    return reply(response, 413, { message: `the body exceeds ${limit} bytes` });
  }
  let payloads: Payload[];
  try {
    payloads = parsePayloads(body);
  } catch (error) {
    return reply(response, 400, { message: `not a {"payloads": [...]} body: ${describeError(error)}` });
  }
  let result: Payload[];
  try {
    result = await options.codec[operation](payloads);
  } catch (error) {
    // The codec's own words: which key id is missing, or that a payload does not decrypt. Never key material.
    return reply(response, 400, { message: describeError(error) });
  }
  logger.debug({ operation, namespace, payloads: payloads.length }, 'codec server: request');
  reply(response, 200, ProtoPayloads.toObject(ProtoPayloads.create({ payloads: result }), { bytes: String }));
}

/** The payloads of a codec request body, bytes decoded from base64 (protobuf's JSON mapping). */
function parsePayloads(body: Buffer): Payload[] {
  const json = JSON.parse(body.toString('utf8')) as unknown;
  if (
    typeof json !== 'object' ||
    json === null ||
    !Array.isArray((json as { payloads?: unknown }).payloads)
  ) {
    throw new Error('"payloads" is not an array');
  }
  return ProtoPayloads.fromObject(json).payloads;
}

/**
 * `Authorization: Bearer <token>`, the scheme in any case (RFC 9110: auth schemes are case-insensitive). Compares
 * digests, so neither the token's length nor its bytes leak through timing.
 */
function authorized(given: string | undefined, token: string): boolean {
  const credentials = /^bearer +(.*)$/i.exec(given ?? '')?.[1];
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return credentials !== undefined && timingSafeEqual(digest(credentials), digest(token));
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

async function readBody(request: IncomingMessage, limit: number): Promise<Buffer | 'too large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return 'too large';
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function reply(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}
