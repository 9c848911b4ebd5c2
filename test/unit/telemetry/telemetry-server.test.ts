/**
 * The operator endpoint over real HTTP: `/metrics` passes the exporter's text through (502 when the exporter does not
 * answer), `/healthz` is 200 or 503 with a JSON body as the health check says, anything else is 404/405, and a port
 * in use is a clear error naming the address; an error the listening server reports is logged, never fatal.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IngestError } from '../../../src/errors.ts';
import {
  startTelemetryServer,
  type HealthReport,
  type TelemetryServer,
} from '../../../src/telemetry/telemetry-server.ts';

const exposition = '# TYPE ingest_rows_total counter\ningest_rows_total{outcome="inserted"} 3\n';
let exporter: Server;
let exporterUrl: string;
let server: TelemetryServer;
let healthy: HealthReport = { ok: true, parts: { worker: 'RUNNING', database: 'ok' } };

beforeAll(async () => {
  exporter = createServer((req, res) => {
    if (req.url === '/metrics')
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(exposition);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => exporter.listen(0, '127.0.0.1', resolve));
  exporterUrl = `http://127.0.0.1:${(exporter.address() as AddressInfo).port}/metrics`;
  server = await startTelemetryServer({
    address: { host: '127.0.0.1', port: 0 },
    metricsUrl: exporterUrl,
    health: () => Promise.resolve(healthy),
  });
});

afterAll(async () => {
  await server?.close();
  await new Promise((resolve) => exporter?.close(resolve));
});

describe('the telemetry server', () => {
  it('passes the exporter text through on /metrics', async () => {
    const response = await fetch(`${server.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4');
    expect(await response.text()).toBe(exposition);
  });

  it('answers /healthz 200 or 503 with the parts in a JSON body', async () => {
    const ok = await fetch(`${server.url}/healthz`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ status: 'ok', worker: 'RUNNING', database: 'ok' });
    healthy = { ok: false, parts: { worker: 'RUNNING', database: 'unavailable' } };
    const down = await fetch(`${server.url}/healthz`);
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({ status: 'unavailable', worker: 'RUNNING', database: 'unavailable' });
  });

  it('answers 404 elsewhere and 405 to other methods', async () => {
    expect((await fetch(`${server.url}/`)).status).toBe(404);
    expect((await fetch(`${server.url}/metrics/extra`)).status).toBe(404);
    const post = await fetch(`${server.url}/metrics`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('answers 502 when the exporter does not', async () => {
    const orphan = await startTelemetryServer({
      address: { host: '127.0.0.1', port: 0 },
      metricsUrl: `${exporterUrl.replace('/metrics', '')}/gone`,
      health: () => Promise.resolve(healthy),
    });
    try {
      expect((await fetch(`${orphan.url}/metrics`)).status).toBe(502);
    } finally {
      await orphan.close();
    }
  });

  it('refuses a port in use, naming the address', async () => {
    const port = Number(new URL(server.url).port);
    const error: unknown = await startTelemetryServer({
      address: { host: '127.0.0.1', port },
      metricsUrl: exporterUrl,
      health: () => Promise.resolve(healthy),
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(IngestError);
    expect((error as IngestError).code).toBe('METRICS_LISTEN_FAILED');
    expect((error as IngestError).message).toContain(`127.0.0.1:${port}`);
  });

  it('survives errors the listening server reports, and keeps answering', async () => {
    // The server object, as Node's own instrumentation channel hands it to observers of each request.
    let listening: Server | undefined;
    const capture = (message: unknown) => (listening = (message as { server: Server }).server);
    subscribe('http.server.request.start', capture);
    try {
      healthy = { ok: true, parts: { worker: 'RUNNING', database: 'ok' } };
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    } finally {
      unsubscribe('http.server.request.start', capture);
    }
    expect(listening?.address()).toMatchObject({ port: Number(new URL(server.url).port) });
    // An 'error' event without a listener throws; the server's own listener takes every one.
    for (let i = 0; i < 3; i++)
      listening?.emit('error', Object.assign(new Error('accept'), { code: 'EMFILE' }));
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});
