/**
 * A secured Temporal, reached the way an operator configures it — the `TEMPORAL_*` variables of the `temporal` CLI
 * and its config file profiles — through a TLS endpoint in front of the run's dev server (`grpc-tls-proxy.ts`):
 * with an API key (as Temporal Cloud takes one), with mTLS, and with a profile of a TOML file chosen by
 * `TEMPORAL_PROFILE`. Each time the worker and client the product wires (`readSettings` → `openRuntime`) complete a
 * real run of the messaging source against the sandbox; a client without the key or the certificate is refused.
 * `npm start` says when a profile gave the address, and how to add the search attributes without printing the key.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { temporal as proto } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openRuntime, serversFromSettings } from '../../src/app/runtime.ts';
import { readSettings, type Environment } from '../../src/app/settings.ts';
import { sourcesFromSandbox } from '../../src/app/sources.ts';
import { connectClient } from '../../src/app/temporal/connection.ts';
import { isIngestError } from '../../src/errors.ts';
import { checkSearchAttributes } from '../../src/local/temporal-server.ts';
import { shippedSourcesDir } from '../../src/config/registry.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/server.ts';
import type { LoadReport } from '../../src/shared/ingest-types.ts';
import type { ingestSource } from '../../src/workflows/index.ts';
import { projectRoot } from '../../src/local/paths.ts';
import { withDatabase } from '../helpers/database.ts';
import { startGrpcTlsProxy, type GrpcTlsProxy } from '../helpers/grpc-tls-proxy.ts';
import { isolatedTemporalEnv } from '../helpers/temporal-env.ts';
import { spawnWorkerEntry } from '../helpers/worker-entry.ts';
import { createTestCertificates, type TestCertificates } from '../helpers/tls-certificates.ts';

const database = withDatabase();
const { temporalAddress, namespace, workflowBundlePath } = inject('stack');
const taskQueue = `secured-${process.pid}`;
const apiKey = 'test-api-key-7f3a9c';
let dir: string;
let certificates: TestCertificates;
let keyProxy: GrpcTlsProxy;
let mtlsProxy: GrpcTlsProxy;
let sandbox: Sandbox;
let runs = 0;
/** Child processes of this file: killed after it, whatever a failed or timed-out test left running. */
const children: ChildProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ingest-secured-'));
  certificates = await createTestCertificates(dir);
  [keyProxy, mtlsProxy, sandbox] = await Promise.all([
    startGrpcTlsProxy({ upstream: temporalAddress, certificates, mode: { kind: 'api-key', apiKey } }),
    startGrpcTlsProxy({ upstream: temporalAddress, certificates, mode: { kind: 'mtls' } }),
    startSandbox({ seed: 3, counts: { contacts: 25, phones: 0, registrations: 0 } }),
  ]);
});
afterAll(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  await Promise.all([keyProxy?.close(), mtlsProxy?.close(), sandbox?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

/**
 * One run of `messaging` (its `contacts`) on a worker and client built by the product's wiring from settings read
 * from `env` alone (no HOME: no config file of the machine's user is read).
 */
async function ingestWith(env: Environment): Promise<LoadReport> {
  const settings = readSettings({ ...env, DATABASE_URL: database.url });
  const runtime = await openRuntime(serversFromSettings(settings, ''), { maxConnections: 4 });
  try {
    const sources = await sourcesFromSandbox(sandbox, {}, shippedSourcesDir);
    const worker = await runtime.createWorker({
      sources,
      taskQueue,
      workflowBundle: { codePath: workflowBundlePath },
    });
    runs += 1;
    return await worker.runUntil(
      runtime.client.workflow.execute<typeof ingestSource>('ingestSource', {
        taskQueue,
        workflowId: `secured/${taskQueue}/${runs}`,
        args: [{ source: 'messaging', resources: ['contacts'] }],
      }),
    );
  } finally {
    await runtime.close();
  }
}

/** Connecting a client with the settings of `env`: the error it fails with. */
async function refusal(env: Environment): Promise<unknown> {
  const { temporal } = readSettings(env);
  if (!temporal.address) throw new Error('no address in the test environment');
  // Short: a refused handshake is retried until the connect timeout.
  return connectClient({ ...temporal, address: temporal.address }, { connectTimeoutMs: 1_000 }).then(
    async (connection) => {
      await connection.close();
      return undefined;
    },
    (error: unknown) => error,
  );
}

/** The gRPC status codes in an error and its causes. */
function grpcCodes(error: unknown): unknown[] {
  const codes: unknown[] = [];
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth += 1) {
    codes.push((current as { code?: unknown }).code);
    current = current.cause;
  }
  return codes;
}

function expectLanded(report: LoadReport): void {
  expect(report.outcome).toBe('ok');
  const contacts = report.resources.find((resource) => resource.resource === 'contacts');
  expect(contacts?.counts.fetched).toBe(25);
}

describe('a secured Temporal', () => {
  it('API key: a run completes with TEMPORAL_API_KEY over TLS; a client without the key is refused', async () => {
    const env = {
      TEMPORAL_ADDRESS: keyProxy.address,
      TEMPORAL_NAMESPACE: namespace,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: certificates.caCert,
    };
    const forwarded = keyProxy.forwardedCalls;
    expectLanded(await ingestWith({ ...env, TEMPORAL_API_KEY: apiKey }));
    expect(keyProxy.forwardedCalls).toBeGreaterThan(forwarded);

    const refused = keyProxy.refusedCalls;
    expect(grpcCodes(await refusal(env))).toContain(16); // UNAUTHENTICATED
    expect(grpcCodes(await refusal({ ...env, TEMPORAL_API_KEY: 'wrong' }))).toContain(16);
    expect(keyProxy.refusedCalls).toBeGreaterThan(refused);
  });

  it('mTLS: a run completes with the client certificate and key; a client without them is refused', async () => {
    const env = {
      TEMPORAL_ADDRESS: mtlsProxy.address,
      TEMPORAL_NAMESPACE: namespace,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: certificates.caCert,
    };
    const forwarded = mtlsProxy.forwardedCalls;
    expectLanded(
      await ingestWith({
        ...env,
        TEMPORAL_TLS_CLIENT_CERT_PATH: certificates.clientCert,
        TEMPORAL_TLS_CLIENT_KEY_PATH: certificates.clientKey,
      }),
    );
    expect(mtlsProxy.forwardedCalls).toBeGreaterThan(forwarded);

    const refusedHandshakes = mtlsProxy.refusedHandshakes;
    expect(await refusal(env)).toBeInstanceOf(Error);
    expect(mtlsProxy.refusedHandshakes).toBeGreaterThan(refusedHandshakes);
  });

  it('a profile of a config file, chosen by TEMPORAL_PROFILE, carries the address and the API key', async () => {
    const configFile = join(dir, 'temporal.toml');
    await writeFile(
      configFile,
      [
        '[profile.default]',
        'address = "127.0.0.1:1"', // not this one: the profile chosen below is
        '',
        '[profile.secured]',
        `address = "${keyProxy.address}"`,
        `namespace = "${namespace}"`,
        `api_key = "${apiKey}"`,
        '',
        '[profile.secured.tls]',
        `server_ca_cert_path = "${certificates.caCert}"`,
        '',
      ].join('\n'),
    );
    const forwarded = keyProxy.forwardedCalls;
    expectLanded(await ingestWith({ TEMPORAL_CONFIG_FILE: configFile, TEMPORAL_PROFILE: 'secured' }));
    expect(keyProxy.forwardedCalls).toBeGreaterThan(forwarded);
  });

  it('`npm run worker` logs how it connects, never the API key', async () => {
    const forwarded = keyProxy.forwardedCalls;
    const worker = spawnWorkerEntry(['--workflow-bundle', workflowBundlePath], {
      ...isolatedTemporalEnv({ PATH: process.env['PATH'] }),
      TEMPORAL_ADDRESS: keyProxy.address,
      TEMPORAL_NAMESPACE: namespace,
      TEMPORAL_API_KEY: apiKey,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: certificates.caCert,
      DATABASE_URL: database.url,
    });
    children.push(worker.child);
    await worker.waitFor('worker started');
    const { code, output } = await worker.stop();
    expect(code).toBe(0);
    expect(output).toContain('"security":"TLS, API key"');
    expect(output).not.toContain(apiKey);
    expect(keyProxy.forwardedCalls).toBeGreaterThan(forwarded);
  });

  it('a server without the search attributes: the commands to add them name its plain address', async () => {
    const bare = await bareNamespace();
    const error = await checkSearchAttributes(temporalAddress, bare).then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(isIngestError(error) && error.code).toBe('SEARCH_ATTRIBUTES_MISSING');
    expect((error as Error).message).toContain(
      `search-attribute create --address ${temporalAddress} --namespace ${bare} --name IngestSource`,
    );
  });

  it('`npm start` names the profile its address came from, and its hint neither holds the key nor a bare --address', async () => {
    const bare = await bareNamespace();
    const configFile = join(dir, 'start.toml');
    await writeFile(
      configFile,
      [
        '[profile.default]',
        `address = "${keyProxy.address}"`,
        `namespace = "${bare}"`,
        `api_key = "${apiKey}"`,
        '[profile.default.tls]',
        `server_ca_cert_path = "${certificates.caCert}"`,
        '',
      ].join('\n'),
    );
    const forwarded = keyProxy.forwardedCalls;
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/app/start.ts', '--once'], {
      cwd: projectRoot,
      env: {
        ...isolatedTemporalEnv({ PATH: process.env['PATH'] }),
        TEMPORAL_CONFIG_FILE: configFile,
        DATABASE_URL: database.url,
        INGEST_DATA_DIR: join(dir, 'start-data'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];

    expect(code, output).toBe(1); // the namespace lacks the search attributes
    expect(output).toContain(
      `Temporal           ${keyProxy.address} from profile "default" of ${configFile}`,
    );
    expect(keyProxy.forwardedCalls).toBeGreaterThan(forwarded); // with the key, over TLS
    expect(output).toContain(
      `search-attribute create --namespace ${bare} --name IngestSource --type Keyword`,
    );
    expect(output).toContain(`tcld namespace search-attributes add --namespace ${bare}`);
    expect(output).not.toContain('--address');
    expect(output).not.toContain(apiKey);
  });
});

let bare: Promise<string> | undefined;

/** A namespace of the dev server without the project's search attributes (registered once per file). */
function bareNamespace(): Promise<string> {
  bare ??= (async () => {
    const name = `secured-bare-${process.pid}`;
    const connection = await connectClient({ address: temporalAddress, namespace });
    try {
      await connection.workflowService.registerNamespace(
        // fromObject: the retention's seconds are a Long in the request type.
        proto.api.workflowservice.v1.RegisterNamespaceRequest.fromObject({
          namespace: name,
          workflowExecutionRetentionPeriod: { seconds: 86_400 },
        }),
      );
    } finally {
      await connection.close();
    }
    return name;
  })();
  return bare;
}
