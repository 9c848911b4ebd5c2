import { describe, expect, it } from 'vitest';
import { isFinalStatus } from '../../src/sandbox/messaging-store.ts';
import { messagingPaths, messagingResources } from '../../src/sandbox/resources.ts';
import { asObject, fetchJson, fetchText, messagingHeaders, usingSandbox, withSandbox } from './helpers.ts';

const context = withSandbox({
  seed: 3,
  counts: { contacts: 4, phones: 0 },
  messages: { finalAfterPolls: 2 },
});

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function smsUrl(url: string, to: string, message = 'Hello'): string {
  return `${url}/messaging/v1/sms?${new URLSearchParams({ to, from: '+15550001111', message }).toString()}`;
}

describe('messaging API (seed 002)', () => {
  it('sms creates a message with a NEW requestId on every call and counts sends per `to`', async () => {
    const { sandbox } = context;
    const to = '+15551230001';
    const first = await fetchJson(smsUrl(sandbox.url, to), { headers: messagingHeaders(sandbox) });
    const second = await fetchJson(smsUrl(sandbox.url, to), { headers: messagingHeaders(sandbox) });
    expect(first.status).toBe(200);
    const a = asObject(asObject(first.json).data);
    const b = asObject(asObject(second.json).data);
    expect(a).toMatchObject({ status: 'ACCEPTED', to, from: '+15550001111' });
    expect(a.requestId).toMatch(uuidPattern);
    expect(b.requestId).not.toBe(a.requestId);
    expect(a.href).toBe(`${sandbox.url}/messaging/v1/messages/${String(a.requestId)}`);
    expect(Number.isNaN(Date.parse(String(a.submitDate)))).toBe(false);
    expect(sandbox.messaging.sendCount(to)).toBe(2);
    expect(sandbox.messaging.sendCount('+15559999999')).toBe(0);
    expect(sandbox.messaging.sends().map((sent) => sent.requestId)).toEqual(
      expect.arrayContaining([a.requestId, b.requestId]),
    );
  });

  it('sms without `to` or `from` is a 400 problem and sends nothing', async () => {
    const { sandbox } = context;
    const before = sandbox.messaging.sends().length;
    const response = await fetchJson(`${sandbox.url}/messaging/v1/sms?message=x`, {
      headers: messagingHeaders(sandbox),
    });
    expect(response.status).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(asObject(response.json).detail).toContain('to, from');
    expect(sandbox.messaging.sends()).toHaveLength(before);
  });

  it('a message stays non-final for the configured polls, then reaches a final status with full details', async () => {
    const { sandbox } = context;
    const sent = asObject(
      asObject(
        (
          await fetchJson(smsUrl(sandbox.url, '+15551230002', 'x'.repeat(200)), {
            headers: messagingHeaders(sandbox),
          })
        ).json,
      ).data,
    );
    const url = `${sandbox.url}/messaging/v1/messages/${String(sent.requestId)}`;
    const statuses: string[] = [];
    let last: Record<string, unknown> = {};
    for (let poll = 0; poll < 4; poll += 1) {
      last = asObject(asObject((await fetchJson(url, { headers: messagingHeaders(sandbox) })).json).data);
      statuses.push(String(last.status));
    }
    expect(statuses[0]).toBe('ACCEPTED');
    expect(isFinalStatus(statuses[1] ?? '')).toBe(false);
    expect(statuses[2]).toBe(sandbox.messaging.finalStatusOf(String(sent.requestId)));
    expect(statuses[3]).toBe(statuses[2]);
    expect(sandbox.messaging.pollCount(String(sent.requestId))).toBe(4);
    expect(Object.keys(last).sort()).toEqual(
      [
        'requestId',
        'status',
        'submitDate',
        'sentDate',
        'doneDate',
        'errorCode',
        'errorReason',
        'from',
        'to',
        'href',
        'mccmnc',
        'ttid',
        'overallPrice',
        'priceEffective',
        'reference',
        'size',
        'parts',
      ].sort(),
    );
    expect(last.size).toBe(2);
    expect(last.overallPrice).toMatch(/^\d+\.\d{4}$/);
    expect(last.parts).toHaveLength(2);
    expect(Object.keys(asObject((last.parts as unknown[])[0])).sort()).toEqual(
      [
        'partId',
        'deliveryState',
        'statusText',
        'currency',
        'price',
        'priceEffective',
        'sentDate',
        'doneDate',
        'errorCode',
      ].sort(),
    );
    expect(last.doneDate).not.toBeNull();
  });

  it('with finalAfterMs, a message becomes final once that time has passed', async () => {
    await usingSandbox({ messages: { finalAfterMs: 500 } }, async (sandbox) => {
      const sent = asObject(
        asObject((await fetchJson(smsUrl(sandbox.url, '+1555'), { headers: messagingHeaders(sandbox) })).json)
          .data,
      );
      const url = `${sandbox.url}/messaging/v1/messages/${String(sent.requestId)}`;
      const early = asObject(
        asObject((await fetchJson(url, { headers: messagingHeaders(sandbox) })).json).data,
      );
      expect(isFinalStatus(String(early.status))).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 550));
      const late = asObject(
        asObject((await fetchJson(url, { headers: messagingHeaders(sandbox) })).json).data,
      );
      expect(isFinalStatus(String(late.status))).toBe(true);
    });
  });

  it('an unknown or expired requestId is a 404 problem+json', async () => {
    const { sandbox } = context;
    const unknown = await fetchJson(
      `${sandbox.url}/messaging/v1/messages/00000000-0000-4000-8000-000000000000`,
      {
        headers: messagingHeaders(sandbox),
      },
    );
    expect(unknown.status).toBe(404);
    expect(unknown.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(asObject(unknown.json)).toMatchObject({ title: 'Not Found', status: 404 });
    expect(Object.keys(asObject(unknown.json)).sort()).toEqual(['detail', 'status', 'title', 'type']);

    const sent = asObject(
      asObject((await fetchJson(smsUrl(sandbox.url, '+1556'), { headers: messagingHeaders(sandbox) })).json)
        .data,
    );
    expect(sandbox.messaging.expire(String(sent.requestId))).toBe(true);
    const expired = await fetchText(`${sandbox.url}/messaging/v1/messages/${String(sent.requestId)}`, {
      headers: messagingHeaders(sandbox),
    });
    expect(expired.status).toBe(404);
  });

  it('preloads thousands of old messages: final at once, except pending and expired ones', async () => {
    await usingSandbox(
      { messages: { finalAfterPolls: 1, preload: { count: 5000, pendingEvery: 100, expiredEvery: 1000 } } },
      async (sandbox) => {
        const ids = sandbox.preloadedMessageIds;
        expect(ids).toHaveLength(5000);
        expect(new Set(ids).size).toBe(5000);
        const get = (id: string) =>
          fetchJson(`${sandbox.url}/messaging/v1/messages/${id}`, { headers: messagingHeaders(sandbox) });
        const old = asObject(asObject((await get(ids[0] ?? '')).json).data);
        expect(isFinalStatus(String(old.status))).toBe(true);
        const pending = asObject(asObject((await get(ids[99] ?? '')).json).data);
        expect(pending.status).toBe('ACCEPTED');
        expect((await get(ids[999] ?? '')).status).toBe(404);
        // More can be added at runtime, with new ids.
        const more = sandbox.messaging.preload({ count: 10 });
        expect(more.some((id) => ids.includes(id))).toBe(false);
      },
    );
  });

  it.each(messagingResources)(
    '%s: a requestId per record, exactly the dataset body (204 when empty)',
    async (resource) => {
      const { sandbox } = context;
      const response = await fetchText(`${sandbox.url}${messagingPaths[resource]}`, {
        headers: messagingHeaders(sandbox),
      });
      if (sandbox.dataset.count(resource) === 0) {
        expect(response.status).toBe(204);
        expect(response.text).toBe('');
        return;
      }
      expect(response.status).toBe(200);
      expect(response.text).toBe(sandbox.dataset.bodyText(resource));
      const records = asObject(JSON.parse(response.text)).data as Record<string, unknown>[];
      expect(records).toHaveLength(sandbox.dataset.count(resource));
      for (const record of records) expect(record.requestId).toMatch(uuidPattern);
    },
  );

  it.each([
    ['no key', {}],
    ['a wrong key', { api_key: 'wrong' }],
    ['the key as Authorization', { authorization: 'sandbox-messaging-key' }],
  ])('answers 401 problem+json and sends nothing for %s', async (_name, headers: Record<string, string>) => {
    const { sandbox } = context;
    const before = sandbox.messaging.sendCount('+15557770000');
    for (const path of [
      '/messaging/v1/sms?to=%2B15557770000&from=x',
      '/byon/contacts/v1',
      '/messaging/v1/messages/x',
    ]) {
      const response = await fetchJson(`${sandbox.url}${path}`, { headers });
      expect(response.status).toBe(401);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(asObject(response.json)).toMatchObject({ status: 401, title: 'Unauthorized' });
      expect(asObject(response.json)).not.toHaveProperty('data');
    }
    expect(sandbox.messaging.sendCount('+15557770000')).toBe(before);
  });

  it('the key in the query string is not accepted by the messaging API', async () => {
    const { sandbox } = context;
    const response = await fetchText(`${sandbox.url}/byon/contacts/v1?api_key=${sandbox.keys.messaging}`);
    expect(response.status).toBe(401);
  });
});
