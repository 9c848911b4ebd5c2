/**
 * The worker's operator endpoint, one port: `GET /metrics` (the Prometheus text of the Temporal runtime's exporter,
 * which holds the SDK's metrics and ours, passed through from its own loopback port) and `GET /healthz` (200 when the
 * worker runs and its Postgres answers, 503 otherwise; a JSON body says which). A tiny `node:http` server: the
 * runtime's exporter serves `/metrics` only.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { IngestError, describeError } from '../errors.ts';
import { logger } from '../logging.ts';
import type { ListenAddress } from './telemetry-settings.ts';

/** What `/healthz` reports: `ok` decides the status code (200 / 503); the rest is the body. */
export interface HealthReport {
  readonly ok: boolean;
  /** Each part's state, e.g. `{ worker: 'RUNNING', database: 'ok' }` (no error text: it could name a host). */
  readonly parts: Readonly<Record<string, string>>;
}

export interface TelemetryServerOptions {
  readonly address: ListenAddress;
  /** The runtime exporter's `/metrics` URL (loopback). */
  readonly metricsUrl: string;
  /** Asked on every `/healthz`; must settle quickly (bound its own waits). */
  readonly health: () => Promise<HealthReport>;
}

export interface TelemetryServer {
  /** `http://host:port`, the port actually bound (an address with port 0 takes a free one). */
  readonly url: string;
  close(): Promise<void>;
}

/** Starts the server; a port in use is an `environment` error naming the address. */
export async function startTelemetryServer(options: TelemetryServerOptions): Promise<TelemetryServer> {
  const server = createServer((req, res) => {
    void respond(req, res, options).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  const { host, port } = options.address;
  await new Promise<void>((resolve, reject) => {
    const refuse = (error: Error) =>
      reject(
        new IngestError(
          'environment',
          'METRICS_LISTEN_FAILED',
          `cannot serve metrics on ${hostPort(host, port)}: ${describeError(error)}`,
        ),
      );
    server.once('error', refuse);
    server.listen(port, host, () => {
      server.off('error', refuse);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  // Listening, the server may still report an error (a connection it could not accept): logged, for as long as it
  // runs — an 'error' event without a listener would end the process.
  server.on('error', (error) =>
    logger.warn({ error: describeError(error), port: bound }, 'the metrics server reported an error'),
  );
  return {
    url: `http://${hostPort(host, bound)}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function respond(
  req: IncomingMessage,
  res: ServerResponse,
  options: TelemetryServerOptions,
): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (path !== '/metrics' && path !== '/healthz') {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /healthz\n');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  if (path === '/healthz') {
    const report = await options.health();
    const body = JSON.stringify({ status: report.ok ? 'ok' : 'unavailable', ...report.parts });
    res.writeHead(report.ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : `${body}\n`);
    return;
  }
  try {
    const upstream = await request(options.metricsUrl, { headersTimeout: 10_000, bodyTimeout: 10_000 });
    const text = await upstream.body.text();
    if (upstream.statusCode !== 200) throw new Error(`the exporter answered ${upstream.statusCode}`);
    const type = upstream.headers['content-type'];
    res.writeHead(200, { 'content-type': typeof type === 'string' ? type : 'text/plain; version=0.0.4' });
    res.end(req.method === 'HEAD' ? undefined : text);
  } catch (error) {
    res
      .writeHead(502, { 'content-type': 'text/plain' })
      .end(`metrics unavailable: ${describeError(error)}\n`);
  }
}

function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}
