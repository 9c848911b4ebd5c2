/**
 * The codec server over real HTTP: Temporal's protocol (`POST /encode`, `POST /decode`, base64 JSON), CORS for the
 * Web UI's origin only (preflight answered with the headers the UI sends), the bearer token (its scheme in any case),
 * the namespace, the body limit, and refusals with a reason and no key material; and `npm run codec-server`'s refusal
 * to serve decryption beyond loopback without a token.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { assertProtected, main } from '../../../src/app/codec-server.ts';
import { AesGcmCodec, encryptedEncoding } from '../../../src/app/codec/aes-gcm-codec.ts';
import { parseCodecKeys } from '../../../src/app/codec/keys.ts';
import { startCodecServer, type CodecServer } from '../../../src/app/codec/server.ts';
import type { IngestError } from '../../../src/errors.ts';

const key = randomBytes(32).toString('base64');
const token = randomBytes(16).toString('hex');
const uiOrigin = 'http://localhost:8233';
const b64 = (text: string) => Buffer.from(text).toString('base64');
const jsonPayload = (value: unknown) => ({
  metadata: { encoding: b64('json/plain') },
  data: b64(JSON.stringify(value)),
});

interface Payloads {
  payloads: Array<{ metadata: Record<string, string>; data: string }>;
}

let server: CodecServer;
let open: CodecServer;

beforeAll(async () => {
  const codec = new AesGcmCodec(parseCodecKeys(`k1:${key}`, 'INGEST_CODEC_KEYS'));
  [server, open] = await Promise.all([
    startCodecServer({ codec, port: 0, uiOrigins: [uiOrigin], authToken: token, namespaces: ['default'] }),
    startCodecServer({ codec, port: 0, uiOrigins: [uiOrigin] }),
  ]);
});
afterAll(() => Promise.all([server.close(), open.close()]));

const post = (path: string, body: unknown, headers: Record<string, string> = {}, on = server) =>
  fetch(`${on.url}${path}`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      'X-Namespace': 'default',
      Authorization: `Bearer ${token}`,
      ...headers,
    },
    body: JSON.stringify(body),
  });

describe('the codec server', () => {
  it('listens on loopback by default', () => {
    expect(new URL(server.url).hostname).toBe('127.0.0.1');
  });

  it('encodes and decodes payloads in the protocol’s JSON', async () => {
    const value = { to: '+15550100001', message: 'hello' };
    const encoded = await post('/encode', { payloads: [jsonPayload(value)] });
    expect(encoded.status).toBe(200);
    const encrypted = (await encoded.json()) as Payloads;
    expect(encrypted.payloads).toHaveLength(1);
    expect(Buffer.from(encrypted.payloads[0]?.metadata['encoding'] ?? '', 'base64').toString()).toBe(
      encryptedEncoding,
    );
    expect(JSON.stringify(encrypted)).not.toContain(b64(JSON.stringify(value)));
    const decoded = await post('/decode', encrypted);
    expect(decoded.status).toBe(200);
    const plain = (await decoded.json()) as Payloads;
    expect(JSON.parse(Buffer.from(plain.payloads[0]?.data ?? '', 'base64').toString())).toEqual(value);
  });

  it('answers the Web UI’s preflight with its origin and the headers it sends', async () => {
    const response = await fetch(`${server.url}/decode`, {
      method: 'OPTIONS',
      headers: {
        Origin: uiOrigin,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type,x-namespace,authorization',
      },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(uiOrigin);
    expect(response.headers.get('access-control-allow-credentials')).toBe('true');
    const allowed = (response.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(/,\s*/);
    expect(allowed).toEqual(expect.arrayContaining(['content-type', 'x-namespace', 'authorization']));
    expect(response.headers.get('access-control-allow-methods')).toContain('POST');
    expect(response.headers.get('access-control-allow-private-network')).toBeNull();
    // The request itself carries the CORS headers too, so the browser hands the UI the answer.
    const decoded = await post('/decode', { payloads: [jsonPayload(1)] }, { Origin: uiOrigin });
    expect(decoded.status).toBe(200);
    expect(decoded.headers.get('access-control-allow-origin')).toBe(uiOrigin);
  });

  it('lets a UI served from the internet reach it on loopback (Private Network Access preflight)', async () => {
    const cloud = 'https://cloud.example.com';
    const codec = new AesGcmCodec(parseCodecKeys(`k1:${key}`, 'INGEST_CODEC_KEYS'));
    const remote = await startCodecServer({ codec, port: 0, uiOrigins: [cloud] });
    try {
      const response = await fetch(`${remote.url}/decode`, {
        method: 'OPTIONS',
        headers: {
          Origin: cloud,
          'Access-Control-Request-Method': 'POST',
          'Access-Control-Request-Private-Network': 'true',
        },
      });
      expect(response.status).toBe(204);
      expect(response.headers.get('access-control-allow-origin')).toBe(cloud);
      expect(response.headers.get('access-control-allow-private-network')).toBe('true');
    } finally {
      await remote.close();
    }
  });

  it('refuses pages of other origins, preflight or not', async () => {
    const preflight = await fetch(`${server.url}/decode`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST' },
    });
    expect(preflight.status).toBe(403);
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    const simple = await post('/decode', { payloads: [] }, { Origin: 'https://evil.example' });
    expect(simple.status).toBe(403);
  });

  it('asks for the bearer token when it has one', async () => {
    expect((await post('/decode', { payloads: [] }, { Authorization: '' })).status).toBe(401);
    expect((await post('/decode', { payloads: [] }, { Authorization: `Bearer ${token}x` })).status).toBe(401);
    expect((await post('/decode', { payloads: [] }, { Authorization: token })).status).toBe(401);
    expect((await post('/decode', { payloads: [] })).status).toBe(200);
    // Without a token configured, no header is needed.
    expect((await post('/decode', { payloads: [] }, { Authorization: '' }, open)).status).toBe(200);
  });

  it('takes the Bearer scheme in any case, the token exactly', async () => {
    for (const scheme of ['bearer', 'BEARER', 'Bearer']) {
      const response = await post('/decode', { payloads: [] }, { Authorization: `${scheme} ${token}` });
      expect(response.status, scheme).toBe(200);
    }
    const wrongCase = await post(
      '/decode',
      { payloads: [] },
      { Authorization: `Bearer ${token.toUpperCase()}` },
    );
    expect(wrongCase.status).toBe(401);
  });

  it('refuses a body over its limit with 413', async () => {
    const codec = new AesGcmCodec(parseCodecKeys(`k1:${key}`, 'INGEST_CODEC_KEYS'));
    const small = await startCodecServer({ codec, port: 0, uiOrigins: [uiOrigin], maxBodyBytes: 1024 });
    try {
      const payloads = Array.from({ length: 64 }, (_, i) => jsonPayload({ i, text: 'x'.repeat(64) }));
      const tooLarge = await post('/decode', { payloads }, {}, small);
      expect(tooLarge.status).toBe(413);
      expect(((await tooLarge.json()) as { message: string }).message).toContain('1024 bytes');
      // A body without a length (chunked), over the limit as it streams in.
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          const chunk = new TextEncoder().encode(JSON.stringify({ payloads }));
          controller.enqueue(chunk.subarray(0, 600));
          controller.enqueue(chunk.subarray(600));
          controller.close();
        },
      });
      const streamed = await fetch(`${small.url}/decode`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body,
        duplex: 'half',
      });
      expect(streamed.status).toBe(413);
      // Under the limit, the same server answers.
      expect((await post('/decode', { payloads: payloads.slice(0, 2) }, {}, small)).status).toBe(200);
    } finally {
      await small.close();
    }
  });

  it('serves its namespace only', async () => {
    const response = await post('/decode', { payloads: [] }, { 'X-Namespace': 'payments' });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { message: string }).message).toContain('payments');
  });

  it('refuses a body that is not {payloads: [...]}, other paths and other methods', async () => {
    expect((await post('/decode', { nothing: true })).status).toBe(400);
    expect((await post('/decrypt', { payloads: [] })).status).toBe(404);
    expect(
      (await fetch(`${server.url}/decode`, { headers: { Authorization: `Bearer ${token}` } })).status,
    ).toBe(405);
  });

  it('says which key id it lacks, never a key', async () => {
    const otherKey = randomBytes(32).toString('base64');
    const other = new AesGcmCodec(parseCodecKeys(`k2:${otherKey}`, 'INGEST_CODEC_KEYS'));
    const [foreign] = await other.encode([
      { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('1') },
    ]);
    const body = {
      payloads: [
        {
          metadata: Object.fromEntries(
            Object.entries(foreign?.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
          ),
          data: Buffer.from(foreign?.data ?? []).toString('base64'),
        },
      ],
    };
    const response = await post('/decode', body);
    expect(response.status).toBe(400);
    const { message } = (await response.json()) as { message: string };
    expect(message).toContain('"k2"');
    expect(message).not.toContain(key);
    expect(message).not.toContain(otherKey);
  });
});

describe('npm run codec-server on an address other than loopback', () => {
  it('refuses to start without a token, unless --no-auth says so', async () => {
    const printed: string[] = [];
    const spy = vi
      .spyOn(console, 'error')
      .mockImplementation((line: unknown) => void printed.push(String(line)));
    try {
      const code = await main(['--address', '0.0.0.0', '--port', '0'], 'codec-server', Promise.resolve());
      expect(code).toBe(1);
    } finally {
      spy.mockRestore();
    }
    expect(printed.join('\n')).toMatch(/--address 0\.0\.0\.0 is not loopback.*--auth-token.*--no-auth/s);
    const refusal = (host: string, token?: string, noAuth = false) => {
      try {
        assertProtected(host, token, noAuth);
        return undefined;
      } catch (error) {
        return (error as IngestError).code;
      }
    };
    expect(refusal('0.0.0.0')).toBe('CODEC_SERVER_UNPROTECTED');
    expect(refusal('::')).toBe('CODEC_SERVER_UNPROTECTED');
    expect(refusal('codec.internal.example')).toBe('CODEC_SERVER_UNPROTECTED');
    expect(refusal('0.0.0.0', token)).toBeUndefined();
    expect(refusal('0.0.0.0', undefined, true)).toBeUndefined();
    for (const loopback of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) {
      expect(refusal(loopback), loopback).toBeUndefined();
    }
  });
});
