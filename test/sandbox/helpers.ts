/** Shared set-up of the sandbox tests: a sandbox per file (or per test) and small HTTP helpers over undici. */
import { afterAll, beforeAll } from 'vitest';
import { request } from 'undici';
import { startSandbox, type Sandbox } from '../../src/sandbox/server.ts';
import type { SandboxOptions } from '../../src/sandbox/options.ts';

/** Starts one sandbox for the file (before all tests) and stops it after; read it from `.sandbox`. */
export function withSandbox(options: SandboxOptions = {}): { readonly sandbox: Sandbox } {
  let current: Sandbox | undefined;
  beforeAll(async () => {
    current = await startSandbox(options);
  });
  afterAll(async () => {
    await current?.stop();
  });
  return {
    get sandbox(): Sandbox {
      if (current === undefined) throw new Error('the sandbox is not started yet');
      return current;
    },
  };
}

/** Runs `body` with a sandbox of its own, always stopped afterwards. */
export async function usingSandbox<T>(
  options: SandboxOptions,
  body: (sandbox: Sandbox) => Promise<T>,
): Promise<T> {
  const sandbox = await startSandbox(options);
  try {
    return await body(sandbox);
  } finally {
    await sandbox.stop();
  }
}

export interface Fetched {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly text: string;
}

/** A request whose whole body is read as text (redirects are NOT followed). */
export async function fetchText(
  url: string,
  init: {
    readonly method?: 'GET' | 'POST';
    readonly headers?: Record<string, string>;
    readonly body?: string;
  } = {},
): Promise<Fetched> {
  const response = await request(url, {
    method: init.method ?? 'GET',
    ...(init.headers === undefined ? {} : { headers: init.headers }),
    ...(init.body === undefined ? {} : { body: init.body }),
  });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, text };
}

/** Like {@link fetchText}, then `JSON.parse` of the body. */
export async function fetchJson(
  url: string,
  init: {
    readonly method?: 'GET' | 'POST';
    readonly headers?: Record<string, string>;
    readonly body?: string;
  } = {},
): Promise<Fetched & { readonly json: unknown }> {
  const fetched = await fetchText(url, init);
  return { ...fetched, json: fetched.text === '' ? undefined : (JSON.parse(fetched.text) as unknown) };
}

/** The URL of a communications resource with the sandbox's key. */
export function communicationsUrl(
  sandbox: Sandbox,
  resource: string,
  query: Record<string, string> = {},
): string {
  const params = new URLSearchParams({ ...query, api_key: sandbox.keys.communications });
  return `${sandbox.url}/v1/${resource}?${params.toString()}`;
}

/** The `api_key` header of the messaging API. */
export function messagingHeaders(sandbox: Sandbox): Record<string, string> {
  return { api_key: sandbox.keys.messaging };
}

/** A plain object view of a JSON value (fails the test when it is not an object). */
export function asObject(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`expected a JSON object, got ${JSON.stringify(value)}`);
  }
  return value as Record<string, unknown>;
}
