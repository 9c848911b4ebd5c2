/** The config values a started sandbox suggests per source (bound by the app as `<SOURCE>_CONFIG_<KEY>`). */
import { describe, expect, it } from 'vitest';
import { asObject, fetchJson, messagingHeaders, withSandbox } from './helpers.ts';

const context = withSandbox({ seed: 4 });

describe('sandbox config values', () => {
  it('suggests `to` and `from` for the messaging source', () => {
    const { messaging } = context.sandbox.configValues;
    expect(messaging?.to).toMatch(/^\+1555555\d{4}$/);
    expect(messaging?.from).toBe('durable-ingest');
    for (const values of Object.values(context.sandbox.configValues))
      for (const [key, value] of Object.entries(values)) {
        expect(key).toMatch(/^[a-z_][a-z0-9_]*$/);
        expect(value).not.toBe('');
      }
  });

  it('the suggested values send an SMS through the sandbox', async () => {
    const { sandbox } = context;
    const { to = '', from = '' } = sandbox.configValues.messaging ?? {};
    const query = new URLSearchParams({ to, from, message: 'hello' });
    const response = await fetchJson(`${sandbox.url}/messaging/v1/sms?${query.toString()}`, {
      headers: messagingHeaders(sandbox),
    });
    expect(response.status).toBe(200);
    expect(asObject(asObject(response.json).data)).toMatchObject({ to, from, status: 'ACCEPTED' });
    expect(sandbox.messaging.sendCount(to)).toBe(1);
  });

  it('cannot be changed through the sandbox', () => {
    const values = context.sandbox.configValues as Record<string, Record<string, string>>;
    expect(() => {
      values['messaging'] = { to: 'x' };
    }).toThrow(TypeError);
  });
});
