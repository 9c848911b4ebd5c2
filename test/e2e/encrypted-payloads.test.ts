/**
 * Encrypted payloads end to end: with INGEST_CODEC_KEYS, a messaging run (the SMS send with the sandbox's phone
 * number, a sender and a message text, as `npm start` runs it; `contacts` failing on an HTML page, so that an error
 * excerpt reaches the failures) through the product's wiring (`openRuntime` → client, worker, and the workflow code
 * bundled with the encrypting failure converter — a bundle without it is refused) leaves histories — exported by the
 * `temporal` CLI — in which every payload is encrypted and no phone number, message text or error excerpt is
 * readable, failure messages included;
 * the codec server (`npm run codec-server`, real HTTP) lets `temporal workflow show --codec-endpoint` show them; the
 * history replays with the keys and fails clearly without them.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { WorkflowBundle } from '@temporalio/worker';
import { bundleEncryptsFailures } from '../../src/app/codec/bundle-check.ts';
import { codecDataConverter } from '../../src/app/codec/data-converter.ts';
import { bundleWorkflows } from '../../src/app/ingest-worker.ts';
import { readHistoryFile, replayHistories, type ReplayVerdict } from '../../src/app/replay-history.ts';
import { openRuntime, type Runtime } from '../../src/app/runtime.ts';
import { readSettings } from '../../src/app/settings.ts';
import { sourcesFromSandbox, type SourceBindings } from '../../src/app/sources.ts';
import { shippedSourcesDir } from '../../src/config/registry.ts';
import { projectRoot } from '../../src/local/paths.ts';
import { resolveTemporalCli } from '../../src/local/temporal-cli.ts';
import { sandboxSmsRecipient } from '../../src/sandbox/config-values.ts';
import { maintenancePage } from '../../src/sandbox/fault-replies.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/server.ts';
import type { LoadReport } from '../../src/shared/ingest-types.ts';
import type { ingestSource } from '../../src/workflows/index.ts';
import { withDatabase } from '../helpers/database.ts';
import { withTemporal } from '../helpers/temporal.ts';
import { isolatedTemporalEnv } from '../helpers/temporal-env.ts';

const database = withDatabase();
const temporal = withTemporal();
const key = () => randomBytes(32).toString('base64');
const keys = `e2e-2026:${key()}`;
const token = randomBytes(16).toString('hex');
const sender = 'Sender7731';
const text = 'Your pickup code is 4417-PLUM';
const encryptedEncoding = Buffer.from('binary/encrypted').toString('base64');
/** The error excerpt: the title of the HTML page `contacts` gets instead of JSON. */
const excerpt = /<title>([^<]+)</.exec(maintenancePage)?.[1] ?? 'no title';
/** Values of this run that must not be readable in its histories. */
const secrets = [sandboxSmsRecipient, sender, text, excerpt];

let sandbox: Sandbox;
let runtime: Runtime;
let codecServer: ChildProcess;
let codecUrl: string;
let cliPath: string;
let scratch: string;
let workflowId: string;
let report: LoadReport;
let failure: ApplicationFailure | undefined;
let bundle: WorkflowBundle;
let sources: SourceBindings;

beforeAll(async () => {
  const settings = readSettings({ INGEST_CODEC_KEYS: keys });
  // Needed only after the run: started alongside it.
  const ready = Promise.all([
    startCodecServerProcess(),
    resolveTemporalCli({ settings: readSettings(isolatedTemporalEnv(process.env)).temporalCli }).then(
      (cli) => cli.path,
    ),
    mkdtemp(join(tmpdir(), 'encrypted-')),
  ]);
  ready.catch(() => undefined); // awaited below; no unhandled rejection meanwhile
  // The bundle a worker with these keys makes (the encrypting failure converter in it), built alongside the rest.
  [sandbox, runtime, bundle] = await Promise.all([
    startSandbox({
      seed: 11,
      messages: { finalAfterPolls: 0 },
      faults: [{ path: '/byon/contacts/v1', fault: { type: 'html' } }],
    }),
    openRuntime(
      { temporal: { address: temporal.address, namespace: temporal.namespace }, databaseUrl: database.url },
      { maxConnections: 6, codec: settings.codec },
    ),
    bundleWorkflows(codecDataConverter(settings.codec)),
  ]);
  // As `npm start` binds them: the sandbox's recipient, plus a sender and a text of this test's own.
  sources = await sourcesFromSandbox(
    sandbox,
    { MESSAGING_CONFIG_FROM: sender, MESSAGING_CONFIG_MESSAGE: text },
    shippedSourcesDir,
  );
  const worker = await runtime.createWorker({
    sources,
    taskQueue: temporal.taskQueue,
    workflowBundle: bundle,
  });
  workflowId = `ingest/messaging/${temporal.taskQueue}`;
  await worker.runUntil(async () => {
    try {
      report = await runtime.client.workflow.execute<typeof ingestSource>('ingestSource', {
        taskQueue: temporal.taskQueue,
        workflowId,
        args: [{ source: 'messaging' }],
      });
    } catch (error) {
      const cause = error instanceof WorkflowFailedError ? error.cause : undefined;
      if (!(cause instanceof ApplicationFailure)) throw error;
      failure = cause;
      report = cause.details?.[0] as LoadReport;
    }
  });
  [codecUrl, cliPath, scratch] = await ready;
});
afterAll(async () => {
  codecServer?.kill('SIGTERM');
  await runtime?.close();
  await sandbox?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('encrypted payloads', () => {
  it('runs as usual: the client decrypts the report and the failure the worker encrypted', () => {
    expect(sandbox.messaging.sendCount(sandboxSmsRecipient)).toBe(1);
    expect(report.resources.find((r) => r.resource === 'sms')).toMatchObject({ status: 'ok' });
    expect(report.resources.find((r) => r.resource === 'messages')).toMatchObject({ status: 'ok' });
    expect(report.resources.find((r) => r.resource === 'contacts')).toMatchObject({ status: 'failed' });
    expect(failure?.type).toBe('INGEST_PARTIAL_FAILURE');
  });

  it('leaves no phone number, message text or error excerpt readable in the histories', async () => {
    for (const id of [workflowId, `${workflowId}/messages`]) {
      const exported = await show(id);
      const payloads = payloadsOf(exported);
      expect(payloads.length, id).toBeGreaterThan(3);
      // Every payload — inputs, results, summaries, failures' messages and details — is encrypted…
      for (const { path, payload } of payloads) {
        expect(payload.metadata?.['encoding'], `${id}: ${path}`).toBe(encryptedEncoding);
      }
      // …and nothing of the run is readable: not in the JSON, not in any base64 field decoded.
      const readable = `${exported}\n${decodedBase64(exported)}`;
      for (const secret of secrets) expect(readable, `${id}: ${secret}`).not.toContain(secret);
    }
  });

  it("encrypts the run's own failure message (the workflow code's failure converter)", async () => {
    const { events } = JSON.parse(await show(workflowId)) as {
      events: Array<{ workflowExecutionFailedEventAttributes?: { failure?: { message?: string } } }>;
    };
    const stored = events.find(
      (e) => e.workflowExecutionFailedEventAttributes,
    )?.workflowExecutionFailedEventAttributes;
    expect(stored?.failure?.message).toBeDefined();
    expect(stored?.failure?.message).not.toContain('contacts');
    expect(failure?.message).toContain('contacts');
  });

  it('shows them through the codec server (temporal workflow show --codec-endpoint)', async () => {
    const decoded = await show(workflowId, ['--codec-endpoint', codecUrl, '--codec-auth', `Bearer ${token}`]);
    const readable = `${decoded}\n${decodedBase64(decoded)}`;
    for (const secret of secrets) expect(readable, secret).toContain(secret);
  });

  it('a worker with keys takes a bundle with the encrypting failure converter only', async () => {
    expect(bundleEncryptsFailures(bundle.code)).toBe(true);
    const plainBundle = inject('stack').workflowBundlePath; // built without it, by the global set-up
    expect(bundleEncryptsFailures(await readFile(plainBundle, 'utf8'))).toBe(false);
    const refused = await runtime
      .createWorker({
        sources,
        taskQueue: `${temporal.taskQueue}-plain`,
        workflowBundle: { codePath: plainBundle },
      })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(refused).toMatchObject({ code: 'WORKFLOW_BUNDLE_UNENCRYPTED' });
  });

  it('replays with the keys; without them, or with others, fails naming the key id', async () => {
    const file = join(scratch, 'encrypted.json');
    await writeFile(file, await show(workflowId));
    const item = { ...(await readHistoryFile(file)), workflowId };
    const workflowBundle = { codePath: inject('stack').workflowBundlePath };
    const dataConverter = codecDataConverter(readSettings({ INGEST_CODEC_KEYS: keys }).codec);
    const [withKeys] = await replayHistories([item], { workflowBundle, dataConverter });
    expect(withKeys?.kind).toBe('ok');
    const reasonOf = (verdict: ReplayVerdict | undefined) =>
      verdict !== undefined && verdict.kind !== 'ok' ? verdict.reason : `verdict ${verdict?.kind}`;
    const [withoutKeys] = await replayHistories([item], { workflowBundle });
    expect(withoutKeys?.kind).toBe('failed');
    expect(reasonOf(withoutKeys)).toContain('"e2e-2026"');
    const otherKeys = codecDataConverter(readSettings({ INGEST_CODEC_KEYS: `other:${key()}` }).codec);
    const [wrongKeys] = await replayHistories([item], { workflowBundle, dataConverter: otherKeys });
    expect(wrongKeys?.kind).toBe('failed');
    expect(reasonOf(wrongKeys)).toContain('e2e-2026');
    expect(reasonOf(wrongKeys)).toContain('INGEST_CODEC_KEYS');
  });
});

/** `temporal workflow show --output json` of a workflow, with extra flags (the codec endpoint). */
async function show(id: string, extra: readonly string[] = []): Promise<string> {
  const { stdout } = await promisify(execFile)(
    cliPath,
    [
      'workflow',
      'show',
      '--workflow-id',
      id,
      '--output',
      'json',
      '--address',
      temporal.address,
      '--namespace',
      temporal.namespace,
      ...extra,
    ],
    { maxBuffer: 64 * 1024 * 1024, env: isolatedTemporalEnv(process.env) },
  );
  return stdout;
}

interface JsonPayload {
  readonly metadata?: Record<string, string>;
  readonly data?: string;
}

/**
 * Every payload of an exported history (anything with a `metadata.encoding`) and where it is — but for the ones no
 * codec sees, by Temporal's design: search attributes (the server indexes them) and the SDK's patch markers
 * (`core_patch`; any other marker's payloads count).
 */
function payloadsOf(exported: string): Array<{ path: string; payload: JsonPayload }> {
  const found: Array<{ path: string; payload: JsonPayload }> = [];
  const visit = (node: unknown, path: string): void => {
    if (/searchAttributes/.test(path)) return;
    if (path.endsWith('/markerRecordedEventAttributes') && isPatchMarker(node)) return;
    if (Array.isArray(node)) node.forEach((item, i) => visit(item, `${path}/${i}`));
    else if (typeof node === 'object' && node !== null) {
      const metadata = (node as JsonPayload).metadata;
      if (typeof metadata?.['encoding'] === 'string') found.push({ path, payload: node });
      else for (const [key, value] of Object.entries(node)) visit(value, `${path}/${key}`);
    }
  };
  visit(JSON.parse(exported), '');
  return found;
}

function isPatchMarker(node: unknown): boolean {
  return (node as { markerName?: unknown } | null)?.markerName === 'core_patch';
}

/** Every base64 string of the JSON, decoded (payload data and metadata are base64 in an export). */
function decodedBase64(exported: string): string {
  return [...exported.matchAll(/"([A-Za-z0-9+/]{8,}={0,2})"/g)]
    .map((match) => Buffer.from(match[1] ?? '', 'base64').toString('utf8'))
    .join('\n');
}

/** `npm run codec-server` in a child process, on a free port; resolves with its URL. */
async function startCodecServerProcess(): Promise<string> {
  codecServer = spawn(
    process.execPath,
    ['--import', 'tsx', join(projectRoot, 'src/app/codec-server.ts'), '--port', '0'],
    {
      env: {
        ...isolatedTemporalEnv(process.env),
        INGEST_CODEC_KEYS: keys,
        INGEST_CODEC_AUTH_TOKEN: token,
        TEMPORAL_NAMESPACE: temporal.namespace,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    codecServer.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const url = /^codec server: (http:\/\/\S+)$/m.exec(out)?.[1];
      if (url !== undefined) resolve(url);
    });
    codecServer.once('exit', (code) => reject(new Error(`the codec server exited (${code}): ${out}`)));
  });
}
