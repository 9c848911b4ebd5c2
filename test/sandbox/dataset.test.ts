import { describe, expect, it } from 'vitest';
import { createDataset } from '../../src/sandbox/dataset.ts';
import { hostileKinds, hostileNumbers } from '../../src/sandbox/hostile.ts';
import {
  communicationsResources,
  defaultCounts,
  messagingPaths,
  messagingResources,
  sandboxResources,
} from '../../src/sandbox/resources.ts';
import type { Sandbox } from '../../src/sandbox/server.ts';
import { communicationsUrl, fetchText, messagingHeaders, usingSandbox } from './helpers.ts';

const counts = { user_call_records: 300, contacts: 25, items: 30 };

async function allBodies(sandbox: Sandbox): Promise<string[]> {
  const bodies: string[] = [];
  for (const resource of communicationsResources)
    bodies.push((await fetchText(communicationsUrl(sandbox, resource))).text);
  for (const resource of messagingResources) {
    bodies.push(
      (await fetchText(`${sandbox.url}${messagingPaths[resource]}`, { headers: messagingHeaders(sandbox) }))
        .text,
    );
  }
  bodies.push((await fetchText(`${sandbox.url}/generic/pages/offset?limit=1000`)).text);
  return bodies;
}

describe('deterministic data', () => {
  it('two sandboxes with the same seed serve identical bodies on every route', async () => {
    const first = await usingSandbox({ seed: 42, counts }, allBodies);
    const second = await usingSandbox({ seed: 42, counts }, allBodies);
    expect(second).toEqual(first);
    expect(first.every((body) => body.length > 10)).toBe(true);
  });

  it('different seeds serve different bodies on every route', async () => {
    const first = await usingSandbox({ seed: 42, counts }, allBodies);
    const other = await usingSandbox({ seed: 43, counts }, allBodies);
    first.forEach((body, index) => expect(other[index]).not.toBe(body));
  });

  it('record i is the same alone, in a range, or in the full body, in any order', () => {
    const dataset = createDataset({ seed: 5, counts: { ...defaultCounts, user_call_records: 1000 } });
    const all = [...dataset.recordTexts('user_call_records')];
    expect(dataset.recordText('user_call_records', 777)).toBe(all[777]);
    expect([...dataset.recordTexts('user_call_records', 500, 503)]).toEqual(all.slice(500, 503));
    expect(dataset.bodyText('user_call_records')).toBe(`{"data":[${all.join(',')}]}`);
    expect(dataset.record('user_call_records', 3)).toEqual(JSON.parse(all[3] ?? ''));
    expect(() => dataset.recordText('user_call_records', 1000)).toThrow(RangeError);
  });

  it('primary keys are unique across many records of every resource', () => {
    const many = Object.fromEntries(sandboxResources.map((resource) => [resource, 5000]));
    const dataset = createDataset({
      seed: 9,
      counts: { ...defaultCounts, ...many, user_business_hours: 1, company_business_hours: 1 },
    });
    for (const resource of sandboxResources) {
      const key = (messagingResources as readonly string[]).includes(resource) ? 'requestId' : 'id';
      const ids = new Set(
        [...dataset.records(resource)].map((record) => (record as Record<string, unknown>)[key]),
      );
      expect(ids.size).toBe(dataset.count(resource));
    }
  });

  it('values are realistic: nested objects, arrays, nulls and non-ASCII text', () => {
    const dataset = createDataset({ seed: 1, counts: defaultCounts });
    const text = sandboxResources.map((resource) => dataset.bodyText(resource)).join('');
    expect([...text].some((char) => char.charCodeAt(0) > 0x7f)).toBe(true);
    expect(text).toContain(':null');
    const call = dataset.record('user_call_records', 0) as Record<string, unknown>;
    expect(typeof call.from).toBe('object');
    expect(typeof call.to).toBe('object');
    expect(typeof call.startTime).toBe('string');
    expect(Number.isNaN(Date.parse(String(call.startTime)))).toBe(false);
    const numbers = [...dataset.records('forwarding_numbers')] as Record<string, unknown>[];
    expect(numbers.some((record) => Array.isArray(record.features) && record.features.length > 0)).toBe(true);
  });
});

describe('hostile records (opt-in)', () => {
  const dataset = createDataset({
    seed: 3,
    counts: { ...defaultCounts, call_queues: 70 },
    hostile: { every: 10, kinds: hostileKinds },
  });

  it('the default dataset has none', () => {
    const clean = createDataset({ seed: 3, counts: { ...defaultCounts, call_queues: 70 } });
    const body = clean.bodyText('call_queues');
    expect(body).not.toContain('\\u0000');
    expect(body).not.toContain(hostileNumbers.bigInteger);
    expect(clean.hostileKind('call_queues', 9)).toBeUndefined();
  });

  it('every 10th record is hostile, cycling through the kinds', () => {
    const kinds = Array.from({ length: 70 }, (_, index) => dataset.hostileKind('call_queues', index)).filter(
      (kind) => kind !== undefined,
    );
    expect(kinds).toEqual([...hostileKinds]);
  });

  it('each kind is written as the raw JSON the loader must cope with', () => {
    const textOf = (kind: string): string => {
      const index = hostileKinds.indexOf(kind as (typeof hostileKinds)[number]) * 10 + 9;
      return dataset.recordText('call_queues', index);
    };
    expect(textOf('nul-character')).toContain('before\\u0000after');
    expect(textOf('lone-surrogate')).toContain('\\ud800');
    expect(textOf('big-integer')).toContain(`"counter":${hostileNumbers.bigInteger}`);
    expect(textOf('long-decimal')).toContain(`"rate":${hostileNumbers.longDecimal}`);
    expect(JSON.parse(textOf('deep-nesting'))).toHaveProperty('nested.child.child.child');
    expect(JSON.parse(textOf('missing-primary-key'))).not.toHaveProperty('id');
    const malformed = JSON.parse(dataset.recordText('user_call_records', 49)) as Record<string, unknown>;
    expect(dataset.hostileKind('user_call_records', 49)).toBe('malformed-date');
    expect(Number.isNaN(Date.parse(String(malformed.startTime)))).toBe(true);
  });

  it('is served over HTTP byte for byte', async () => {
    await usingSandbox({ seed: 3, counts: { call_queues: 70 }, hostile: true }, async (sandbox) => {
      const body = (await fetchText(communicationsUrl(sandbox, 'call_queues'))).text;
      expect(body).toBe(dataset.bodyText('call_queues'));
      expect(body).toContain(hostileNumbers.bigInteger);
    });
  });
});

describe('revision', () => {
  it('changes every record of every resource and keeps its id, in the dataset and over HTTP', async () => {
    const small = { user_call_records: 40, forwarding_numbers: 12, contacts: 9, items: 7 };
    const original = createDataset({ seed: 4, counts: { ...defaultCounts, ...small } });
    const revised = createDataset({ seed: 4, counts: { ...defaultCounts, ...small }, revision: 3 });
    for (const resource of ['user_call_records', 'forwarding_numbers', 'contacts', 'items'] as const) {
      const before = [...original.records(resource)] as Record<string, unknown>[];
      const after = [...revised.records(resource)] as Record<string, unknown>[];
      expect(after, resource).toEqual(before.map((record) => ({ ...record, revision: 3 })));
    }
    await usingSandbox({ seed: 4, counts: small, revision: 3 }, async (sandbox) => {
      const body = (await fetchText(communicationsUrl(sandbox, 'user_call_records'))).text;
      expect(body).toBe(revised.bodyText('user_call_records'));
      const paged = JSON.parse(
        (await fetchText(communicationsUrl(sandbox, 'user_call_records', { page: '2', perPage: '10' }))).text,
      ) as { data: unknown[] };
      expect(paged.data).toEqual([...revised.records('user_call_records', 10, 20)]);
    });
  });

  it('changes the hostile records too, each still of its kind', () => {
    const settings = { seed: 3, counts: { ...defaultCounts, call_queues: 70 } };
    const hostile = { every: 10, kinds: hostileKinds };
    const original = createDataset({ ...settings, hostile });
    const revised = createDataset({ ...settings, hostile, revision: 2 });
    for (let index = 9; index < 70; index += 10) {
      expect(revised.hostileKind('call_queues', index)).toBe(original.hostileKind('call_queues', index));
      const before = original.recordText('call_queues', index);
      const after = revised.recordText('call_queues', index);
      // The same text (raw numbers, escapes and all) with one member more: the revision.
      expect(after).toContain('"revision":2');
      expect(after.replace(',"revision":2', ''), String(original.hostileKind('call_queues', index))).toBe(
        before,
      );
    }
  });

  it('1, the default, leaves records as generated', () => {
    const plain = createDataset({ seed: 4, counts: defaultCounts });
    const first = createDataset({ seed: 4, counts: defaultCounts, revision: 1 });
    expect(first.bodyText('call_queues')).toBe(plain.bodyText('call_queues'));
    expect(plain.recordText('call_queues', 0)).not.toContain('revision');
  });
});
