import { describe, expect, it } from 'vitest';
import { planSource } from '../../../src/activities/plan-source.ts';

const env = { MESSAGING_API_KEY: 'k-messaging-secret', COMMUNICATIONS_API_KEY: 'k-comms-secret' };

describe('planSource', () => {
  it('plans every resource of a shipped source, with its hash', async () => {
    const { plan } = await planSource({ source: 'communications' }, { env });
    expect(plan.source).toBe('communications');
    expect(plan.resources).toHaveLength(9);
    expect(plan.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('carries no credential, only the names of the variables that hold them', async () => {
    const { plan } = await planSource({ source: 'messaging' }, { env });
    const text = JSON.stringify(plan);
    expect(text).not.toContain('k-messaging-secret');
    expect(plan.secretVariables).toContain('MESSAGING_API_KEY');
  });

  it('plans the same for the same inputs, and another hash for another base URL', async () => {
    const a = await planSource({ source: 'messaging' }, { env });
    const b = await planSource({ source: 'messaging' }, { env });
    const c = await planSource(
      { source: 'messaging' },
      { env, baseUrls: { messaging: 'http://127.0.0.1:9/' } },
    );
    expect(a.plan.hash).toBe(b.plan.hash);
    expect(c.plan.hash).not.toBe(a.plan.hash);
    expect(c.plan.baseUrl).toContain('127.0.0.1:9');
  });

  it('selects resources and their parents', async () => {
    const { plan } = await planSource({ source: 'communications', resources: ['call_queues'] }, { env });
    expect(plan.resources.map((r) => r.name)).toEqual(['call_queues']);
  });

  it('refuses an unknown source with the list of sources, non-retryably', async () => {
    await expect(planSource({ source: 'mesaging' }, { env })).rejects.toMatchObject({
      category: 'config',
      retryable: false,
      message: expect.stringContaining('communications, messaging') as unknown,
    });
  });

  it('refuses an unknown resource', async () => {
    await expect(planSource({ source: 'messaging', resources: ['nope'] }, { env })).rejects.toMatchObject({
      category: 'config',
    });
  });
});
