/**
 * A body the connection cuts short, over real TCP (a raw server writes the response by hand, so each framing and
 * each way of closing is exact): whatever undici raises for it — the other side closed a keep-alive socket, a length
 * mismatch after `Connection: close`, a reset — a body with fewer bytes than its `Content-Length`, or a chunked body
 * without its last chunk, is `HTTP_BODY_INCOMPLETE` (transient). A body framed by the close alone cannot be told
 * from a whole one: the JSON parser finds it truncated.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { genericPlan, rejectionOf, requester, withClient } from './helpers.ts';

/** How the server frames the response, and how it ends the connection after part of the body. */
interface Cut {
  readonly name: string;
  readonly framing: 'content-length' | 'connection-close' | 'chunked' | 'none';
  readonly end: 'fin' | 'reset';
  readonly gzip?: true;
}

const body = Buffer.from(
  JSON.stringify({ data: Array.from({ length: 200 }, (_, i) => ({ id: i, note: 'x'.repeat(40) })) }),
);
/** The bytes sent before the cut (of the gzipped body, for a gzip row). */
const sentOf = (bytes: Buffer) => Math.floor(bytes.length / 2);

let server: Server;
let url = '';
/** The cut each path gets, and the sockets waiting for the test's word to reset. */
const cuts = new Map<string, Cut>();
const resets = new Map<string, Socket>();

function respond(socket: Socket, cut: Cut, path: string): void {
  const payload = cut.gzip === true ? gzipSync(body) : body;
  const part = payload.subarray(0, sentOf(payload));
  const head = [
    'HTTP/1.1 200 OK',
    'Content-Type: application/json',
    ...(cut.gzip === true ? ['Content-Encoding: gzip'] : []),
    ...(cut.framing === 'chunked' ? ['Transfer-Encoding: chunked'] : []),
    ...(cut.framing === 'content-length' || cut.framing === 'connection-close'
      ? [`Content-Length: ${payload.length}`]
      : []),
    ...(cut.framing === 'connection-close' || cut.framing === 'none' ? ['Connection: close'] : []),
  ];
  const framed =
    cut.framing === 'chunked'
      ? Buffer.concat([Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from('\r\n')])
      : part;
  // A reset waits for the test's word, given once the client has the headers: a reset may drop unread bytes.
  if (cut.end === 'reset') resets.set(path, socket);
  socket.write(Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`), framed]), () => {
    if (cut.end === 'fin') socket.end();
  });
}

beforeAll(async () => {
  server = createServer((socket) => {
    socket.on('error', () => undefined);
    let received = '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (!received.includes('\r\n\r\n')) return;
      const path = /^GET (\S+)/.exec(received)?.[1]?.split('?')[0] ?? '';
      const cut = cuts.get(path);
      if (cut === undefined) socket.destroy();
      else respond(socket, cut, path);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const socket of resets.values()) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const http = withClient();

/** Fetches `/<name>` cut as `cut` says; the error of reading its body. */
async function failureOf(cut: Cut) {
  const path = `/${cut.name}`;
  cuts.set(path, cut);
  const resource = requester(genericPlan(url, path), 'items', { client: http.client, env: {} });
  const fetched = await resource.fetchRecords(resource.render());
  if (cut.end === 'reset') resets.get(path)?.resetAndDestroy();
  return rejectionOf(
    (async () => {
      for await (const _batch of fetched.batches) {
        // read to the cut
      }
    })(),
  );
}

describe('a body cut short by its connection → HTTP_BODY_INCOMPLETE, whichever error undici raised', () => {
  it.each<Cut>([
    { name: 'keep-alive-closed', framing: 'content-length', end: 'fin' },
    { name: 'connection-close', framing: 'connection-close', end: 'fin' },
    { name: 'keep-alive-reset', framing: 'content-length', end: 'reset' },
    { name: 'gzip-closed', framing: 'content-length', end: 'fin', gzip: true },
  ])('$name: fewer bytes than the Content-Length', async (cut) => {
    const error = await failureOf(cut);
    expect([error.code, error.category, error.retryable]).toEqual([
      'HTTP_BODY_INCOMPLETE',
      'http-transient',
      true,
    ]);
    const payload = cut.gzip === true ? gzipSync(body) : body;
    expect(error.details).toMatchObject({ phase: 'request', framing: 'content-length' });
    expect(error.details['expectedBytes']).toBe(payload.length);
    expect(error.details['receivedBytes']).toBeLessThanOrEqual(sentOf(payload));
  });

  it.each<Cut>([
    { name: 'chunked-closed', framing: 'chunked', end: 'fin' },
    { name: 'chunked-reset', framing: 'chunked', end: 'reset' },
  ])('$name: a chunked body without its last chunk', async (cut) => {
    const error = await failureOf(cut);
    expect([error.code, error.category, error.retryable]).toEqual([
      'HTTP_BODY_INCOMPLETE',
      'http-transient',
      true,
    ]);
    expect(error.details).toMatchObject({ phase: 'request', framing: 'chunked' });
    expect(error.details['expectedBytes']).toBeUndefined();
  });

  it('a body framed by the close alone ends there: the parser finds the JSON truncated', async () => {
    const error = await failureOf({ name: 'close-framed', framing: 'none', end: 'fin' });
    expect([error.code, error.category]).toEqual(['TRUNCATED_BODY', 'response-shape']);
  });
});
