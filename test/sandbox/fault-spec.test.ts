import { describe, expect, it } from 'vitest';
import { parseFaultSpec } from '../../src/sandbox/fault-spec.ts';
import type { FaultRule } from '../../src/sandbox/faults.ts';

const valid: readonly [string, FaultRule][] = [
  [
    'GET /v1/call_queues:429:retry-after=2:times=3',
    {
      method: 'GET',
      path: '/v1/call_queues',
      fault: { type: 'status', status: 429, retryAfter: { seconds: 2, format: 'seconds' } },
      times: 3,
    },
  ],
  [
    '/v1/**:503:retry-after-date=1:p=0.2',
    {
      path: '/v1/**',
      fault: { type: 'status', status: 503, retryAfter: { seconds: 1, format: 'http-date' } },
      probability: 0.2,
    },
  ],
  [
    'post /generic/oauth/token:500:requests=2-4',
    {
      method: 'POST',
      path: '/generic/oauth/token',
      fault: { type: 'status', status: 500 },
      requests: { from: 2, to: 4 },
    },
  ],
  ['/x:502:requests=3', { path: '/x', fault: { type: 'status', status: 502 }, requests: { from: 3, to: 3 } }],
  ['/x:504:requests=3-', { path: '/x', fault: { type: 'status', status: 504 }, requests: { from: 3 } }],
  [
    '/messaging/v1/sms:reset:phase=after',
    { path: '/messaging/v1/sms', fault: { type: 'reset', when: 'before-headers' }, phase: 'after-handler' },
  ],
  [
    '/x:reset-body:after-bytes=100',
    { path: '/x', fault: { type: 'reset', when: 'mid-body', afterBytes: 100 } },
  ],
  ['/x:slow-headers:delay=250', { path: '/x', fault: { type: 'slow-headers', delayMs: 250 } }],
  [
    '/x:slow-body:delay=10:chunk-bytes=64',
    { path: '/x', fault: { type: 'slow-body', delayMs: 10, chunkBytes: 64 } },
  ],
  ['/x:truncate', { path: '/x', fault: { type: 'truncated-body' } }],
  ['/x:malformed-json', { path: '/x', fault: { type: 'malformed-json' } }],
  ['/x:html', { path: '/x', fault: { type: 'html' } }],
  [
    '/x:content-type:type=text/csv',
    { path: '/x', fault: { type: 'wrong-content-type', contentType: 'text/csv' } },
  ],
  ['/x:204', { path: '/x', fault: { type: 'empty' } }],
  ['/x:empty', { path: '/x', fault: { type: 'empty' } }],
  ['/x:307:to=other', { path: '/x', fault: { type: 'redirect', status: 307, target: 'other-origin' } }],
  ['/x:redirect', { path: '/x', fault: { type: 'redirect', status: 302, target: 'same-origin' } }],
  [
    '/x:redirect:status=301:path=/y',
    { path: '/x', fault: { type: 'redirect', status: 301, target: 'same-origin', path: '/y' } },
  ],
];

const invalid: readonly [string, RegExp][] = [
  ['v1/x:500', /path must start/],
  ['/x', /missing the fault kind/],
  ['/x:teapot', /unknown kind "teapot"/],
  ['/x:200', /status 200/],
  ['/x:500:times=0', /times/],
  ['/x:500:p=2', /probability/],
  ['/x:500:p=abc', /p=abc is not a number/],
  ['/x:500:retry-after=1:retry-after-date=1', /not both/],
  ['/x:500:requests=4-2', /requests/],
  ['/x:500:requests=a', /expected N, A-B or A-/],
  ['/x:500:colour=red', /unknown option\(s\) for 500: colour/],
  ['/x:500:flag', /not key=value/],
  ['/x:redirect:to=mars', /to=mars/],
  ['/x:redirect:status=200', /status=200/],
  ['/x:500:phase=during', /phase=during/],
];

describe('fault spec (CLI syntax)', () => {
  it.each(valid)('parses %s', (spec, rule) => {
    expect(parseFaultSpec(spec)).toEqual(rule);
  });

  it.each(invalid)('refuses %s, quoting it and saying why', (spec, reason) => {
    expect(() => parseFaultSpec(spec)).toThrow(reason);
    expect(() => parseFaultSpec(spec)).toThrow(`invalid fault "${spec}"`);
  });
});
