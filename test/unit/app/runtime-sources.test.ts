/**
 * Which credentials a worker's sources get is decided from the sources' configs, not from variable names in an entry
 * point: pointed at the sandbox, each credential variable a config names holds the sandbox's key for that source.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planSource } from '../../../src/activities/plan-source.ts';
import {
  assertSourceCredentials,
  sourcesFromEnvironment,
  sourcesFromSandbox,
} from '../../../src/app/runtime.ts';
import { startSandbox, type Sandbox } from '../../../src/sandbox/server.ts';
import { sourceNames } from '../../../src/sources/index.ts';

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(() => sandbox.stop());

describe('sourcesFromSandbox', () => {
  it('sets every credential variable each source config names to that source’s sandbox key', async () => {
    const bindings = await sourcesFromSandbox(sandbox, {});
    const keys: Readonly<Record<string, string>> = sandbox.keys;
    for (const source of sourceNames) {
      const { plan } = await planSource({ source }, { env: {} });
      expect(plan.secretVariables.length).toBeGreaterThan(0);
      for (const variable of plan.secretVariables) expect(bindings.env[variable]).toBe(keys[source]);
      expect(bindings.baseUrls?.[source]).toBe(sandbox.url);
    }
    expect(bindings.sandbox).toBe(true);
  });

  it('keeps the rest of the environment (config values) and lets the sandbox keys win', async () => {
    const bindings = await sourcesFromSandbox(sandbox, {
      MESSAGING_CONFIG_TO: '+15550100042',
      MESSAGING_API_KEY: 'a-real-key',
    });
    expect(bindings.env['MESSAGING_CONFIG_TO']).toBe('+15550100042');
    expect(bindings.env['MESSAGING_API_KEY']).toBe(sandbox.keys.messaging);
  });
});

describe('assertSourceCredentials', () => {
  it('names each missing variable with its source, and never a value', async () => {
    const error: unknown = await assertSourceCredentials(
      sourcesFromEnvironment({ COMMUNICATIONS_API_KEY: 'secret-value-1' }),
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CREDENTIALS_MISSING' });
    const message = (error as Error).message;
    expect(message).toContain('MESSAGING_API_KEY (source messaging)');
    expect(message).not.toContain('COMMUNICATIONS_API_KEY');
    expect(message).not.toContain('secret-value-1');
  });

  it('passes when every source has its credentials', async () => {
    const bindings = await sourcesFromSandbox(sandbox, {});
    await expect(assertSourceCredentials(bindings)).resolves.toBeUndefined();
  });
});
