/**
 * The chaos suite's pure parts (test/chaos): its checks must be able to fail — a secret in any encoding is found, an
 * early request after a Retry-After is flagged — and its schedule must be what the seed says: the same disruption
 * points for the same seed, and a storm whose faults hit their shares of a route's requests.
 */
import { describe, expect, it } from 'vitest';
import { createFaultBook, describeFault } from '../../../src/sandbox/faults.ts';
import type { RequestLogEntry } from '../../../src/sandbox/request-log.ts';
import { checkRetryAfter } from '../../chaos/checks/retry-after.ts';
import { findSecrets, redactSecrets, secretForms } from '../../chaos/checks/secret-forms.ts';
import { planDisruptions } from '../../chaos/schedule.ts';
import { stormPaths, stormRules } from '../../chaos/storm.ts';

describe('secret forms', () => {
  const key = 'chaos-communications-5f1c2a9be07d44e1a3c8b6d2';
  const forms = secretForms([{ name: 'COMMUNICATIONS_API_KEY', value: key }]);

  it('finds the key as is, as hex, and inside base64 at every byte alignment', () => {
    expect(findSecrets(`GET /v1/calls?api_key=${key}`, forms)).toEqual(['COMMUNICATIONS_API_KEY (plain)']);
    expect(findSecrets(`\\x${Buffer.from(key).toString('hex')}`, forms)).toContain(
      'COMMUNICATIONS_API_KEY (hex)',
    );
    for (const prefix of ['', 'a', 'ab', '{"headers":{"api_key":"']) {
      const payload = Buffer.from(`${prefix}${key}"}}`).toString('base64');
      expect(findSecrets(payload, forms), `after ${prefix.length} bytes`).not.toEqual([]);
    }
  });

  it('finds nothing in text without it, and redacts every form it finds', () => {
    expect(findSecrets(`api_key=${key.slice(0, -1)}`, forms)).toEqual([]);
    const text = `${key} ${Buffer.from(`x${key}`).toString('base64')}`;
    const redacted = redactSecrets(text, forms);
    expect(findSecrets(redacted, forms)).toEqual([]);
    expect(redacted).toContain('***');
  });
});

describe('the Retry-After check', () => {
  const at = Date.parse('2026-03-01T10:00:00.000Z');
  let seq = 0;
  const entry = (route: string, wallMs: number, extra: Partial<RequestLogEntry> = {}): RequestLogEntry => ({
    seq: ++seq,
    origin: 'main',
    atMs: wallMs - at,
    wallMs,
    method: 'GET',
    route,
    path: route,
    requestBody: undefined,
    status: 200,
    fault: undefined,
    retryAfter: undefined,
    auth: 'ok',
    credentials: [],
    served: undefined,
    outcome: 'complete',
    bytes: 0,
    durationMs: 1,
    ...extra,
  });

  it('flags a request that came before the seconds of a 429 had passed, not one on time', () => {
    const early = checkRetryAfter([
      entry('/v1/a', at, { status: 429, retryAfter: '2' }),
      entry('/v1/b', at + 10), // another route: not the one that must wait
      entry('/v1/a', at + 1_500),
    ]);
    expect(early.problems).toHaveLength(1);
    expect(early.problems[0]).toContain('500 ms before');
    const onTime = checkRetryAfter([
      entry('/v1/a', at, { status: 429, retryAfter: '2' }),
      entry('/v1/a', at + 2_000),
    ]);
    expect(onTime.problems).toEqual([]);
    expect(onTime.facts).toBe('1 waits, min margin 0 ms');
  });

  it('reads a Retry-After date of a 503 as the instant itself', () => {
    const date = new Date(at + 3_000).toUTCString();
    const result = checkRetryAfter([
      entry('/v1/a', at, { status: 503, retryAfter: date }),
      entry('/v1/a', at + 2_990),
    ]);
    expect(result.problems).toHaveLength(1);
    expect(
      checkRetryAfter([entry('/v1/a', at, { status: 503, retryAfter: date }), entry('/v1/a', at + 3_000)])
        .problems,
    ).toEqual([]);
  });
});

describe('the schedule', () => {
  const plan = { seed: 42, caseName: 'all', kills: 10, postgresStops: 3, callRecordPages: 1000 };

  it('is the same for the same seed and case, another for another seed', () => {
    expect(planDisruptions(plan)).toEqual(planDisruptions({ ...plan }));
    expect(planDisruptions({ ...plan, seed: 43 })).not.toEqual(planDisruptions(plan));
  });

  it('has every disruption asked for, in step order, within the first 80 % of the pages', () => {
    const points = planDisruptions(plan);
    expect(points.filter((p) => p.kind === 'kill')).toHaveLength(10);
    expect(points.filter((p) => p.kind === 'postgres-stop')).toHaveLength(3);
    const steps = points.map((p) => p.atStep);
    expect(steps).toEqual([...steps].sort((a, b) => a - b));
    for (const step of steps) {
      expect(step).toBeGreaterThanOrEqual(1);
      expect(step).toBeLessThanOrEqual(800);
    }
  });
});

describe('the storm', () => {
  it("hits each fault's share of a route's requests, the same requests for the same seed", () => {
    const decide = (seed: number) => {
      const book = createFaultBook(seed, stormRules());
      return Array.from({ length: 20_000 }, () => {
        const fault = book.decide('GET', '/v1/user_call_records')?.fault;
        return fault === undefined ? 'none' : describeFault(fault);
      });
    };
    const faults = decide(7);
    expect(decide(7)).toEqual(faults);
    const share = (label: string) => faults.filter((f) => f === label).length / faults.length;
    expect(share('none')).toBeCloseTo(0.48, 1);
    expect(share('status 500')).toBeCloseTo(0.1, 1);
    expect(share('status 429 (retry-after 1s as seconds)')).toBeCloseTo(0.05, 1);
    expect(share('status 429 (retry-after 1s as http-date)')).toBeCloseTo(0.05, 1);
    expect(share('redirect 307 other-origin')).toBeGreaterThan(0.01);
    expect(share('redirect 307 other-origin')).toBeLessThan(0.03);
  });

  it('leaves the SMS send alone', () => {
    const book = createFaultBook(7, stormRules());
    expect(stormPaths).not.toContain('/messaging/v1/sms');
    for (let i = 0; i < 1_000; i += 1) expect(book.decide('GET', '/messaging/v1/sms')).toBeUndefined();
  });
});
