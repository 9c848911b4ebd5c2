/**
 * The client's optional per-origin request rate (per worker): requests beyond it wait their turn, evenly spaced
 * (asserted from the sandbox's request log), other origins are not slowed, and a waiting request can be cancelled.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createHttpClient } from '../../../src/http/client.ts';
import { withSandbox } from '../../sandbox/helpers.ts';
import { fetchAll, genericPlan, requester } from './helpers.ts';

const context = withSandbox({ seed: 9, counts: { items: 5 } });
const route = '/generic/pages/offset';
const limited = createHttpClient({ requestsPerSecond: 10 });
afterAll(() => limited.close());

describe('requestsPerSecond', () => {
  it('spaces the requests to one origin evenly at the configured rate', async () => {
    const { sandbox } = context;
    sandbox.log.clear();
    const resource = requester(genericPlan(sandbox.url, route), 'items', { client: limited, env: {} });
    const started = performance.now();
    await Promise.all(Array.from({ length: 6 }, () => fetchAll(resource)));
    const elapsed = performance.now() - started;
    const arrivals = sandbox.log
      .entries()
      .filter((e) => e.path.startsWith(route))
      .map((e) => e.atMs)
      .sort((a, b) => a - b);
    expect(arrivals).toHaveLength(6);
    // Slots are 100 ms apart when they leave; arrival adds a little network jitter either way.
    for (let i = 1; i < arrivals.length; i++) {
      expect((arrivals[i] ?? 0) - (arrivals[i - 1] ?? 0)).toBeGreaterThanOrEqual(70);
    }
    expect((arrivals.at(-1) ?? 0) - (arrivals[0] ?? 0)).toBeGreaterThanOrEqual(460);
    expect(elapsed).toBeGreaterThanOrEqual(490);
  });

  it('does not slow another origin', async () => {
    const { sandbox } = context;
    const first = requester(genericPlan(sandbox.url, route), 'items', { client: limited, env: {} });
    const other = requester(genericPlan(sandbox.otherOrigin.url, route), 'items', {
      client: limited,
      env: {},
    });
    await Promise.all([fetchAll(first), fetchAll(first), fetchAll(first)]);
    const started = performance.now();
    await fetchAll(other);
    expect(performance.now() - started).toBeLessThan(90);
  });

  it('lets a request that waits for its slot be cancelled', async () => {
    const client = createHttpClient({ requestsPerSecond: 0.5 });
    try {
      await client.acquire('http://example.invalid');
      const controller = new AbortController();
      const reason = new Error('cancelled while waiting');
      setTimeout(() => controller.abort(reason), 50);
      await expect(client.acquire('http://example.invalid', controller.signal)).rejects.toBe(reason);
    } finally {
      await client.close();
    }
  });

  it('refuses a rate that is not positive', () => {
    expect(() => createHttpClient({ requestsPerSecond: 0 })).toThrow(/requestsPerSecond must be > 0/);
  });
});
