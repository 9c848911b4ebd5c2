import { describe, expect, it } from 'vitest';
import {
  defaultGenericCredentials,
  defaultKeys,
  resolveSandboxOptions,
  type SandboxOptions,
} from '../../src/sandbox/options.ts';
import { defaultCounts } from '../../src/sandbox/resources.ts';
import { startSandbox } from '../../src/sandbox/server.ts';
import { communicationsUrl, fetchText, usingSandbox } from './helpers.ts';

describe('sandbox options', () => {
  it('defaults: loopback, a free port, seed 1, the default counts and keys', () => {
    const resolved = resolveSandboxOptions();
    expect(resolved).toMatchObject({
      host: '127.0.0.1',
      port: 0,
      seed: 1,
      counts: defaultCounts,
      keys: defaultKeys,
      generic: defaultGenericCredentials,
      pageSize: 10,
      messages: { finalAfterPolls: 1 },
      hostile: undefined,
    });
  });

  it('explicitly undefined values keep the defaults', () => {
    const resolved = resolveSandboxOptions({
      keys: { communications: undefined },
    } as unknown as SandboxOptions);
    expect(resolved.keys.communications).toBe(defaultKeys.communications);
  });

  const invalid: readonly [string, SandboxOptions, RegExp][] = [
    [
      'an unknown resource',
      { counts: { nope: 1 } } as unknown as SandboxOptions,
      /counts\.nope: unknown resource; expected one of/,
    ],
    ['a negative count', { counts: { call_queues: -1 } }, /counts\.call_queues/],
    [
      'a business-hours count other than 1',
      { counts: { user_business_hours: 0 } },
      /counts\.user_business_hours: always serves exactly one object/,
    ],
    [
      'a key with spaces',
      { keys: { messaging: 'has space' } },
      /keys\.messaging: must be non-empty visible ASCII/,
    ],
    ['an empty key', { keys: { communications: '' } }, /keys\.communications/],
    ['a port out of range', { port: 70_000 }, /port/],
    ['a zero page size', { pageSize: 0 }, /pageSize/],
    [
      'a basic user with a colon',
      { generic: { username: 'a:b' } },
      /generic\.username: must not contain ":"/,
    ],
  ];

  it.each(invalid)('refuses %s, naming the option', (_name, options, message) => {
    expect(() => resolveSandboxOptions(options)).toThrow(message);
  });

  it('refuses invalid fault rules before listening', async () => {
    await expect(startSandbox({ faults: [{ path: 'nope', fault: { type: 'html' } }] })).rejects.toThrow(
      /invalid fault rule/,
    );
  });

  it('custom keys replace the defaults', async () => {
    await usingSandbox({ keys: { communications: 'custom-key' } }, async (sandbox) => {
      expect(sandbox.keys.communications).toBe('custom-key');
      expect((await fetchText(communicationsUrl(sandbox, 'call_queues'))).status).toBe(200);
      expect(
        (await fetchText(`${sandbox.url}/v1/call_queues?api_key=${defaultKeys.communications}`)).status,
      ).toBe(401);
    });
  });

  it('binds to loopback, on the requested port when given, and stops cleanly', async () => {
    const first = await startSandbox();
    expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(first.otherOrigin.port).not.toBe(first.port);
    const port = first.port;
    await first.stop();
    await first.stop();
    await expect(fetchText(`${first.url}/__sandbox/health`)).rejects.toThrow();
    const second = await startSandbox({ port });
    try {
      expect(second.port).toBe(port);
      expect((await fetchText(`${second.url}/__sandbox/health`)).text).toBe('{"status":"ok"}');
    } finally {
      await second.stop();
    }
  });
});
