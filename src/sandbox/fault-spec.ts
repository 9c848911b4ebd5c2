/**
 * The compact text form of a fault rule, for the command line (and anywhere a rule must fit in one string):
 *
 *   [METHOD ]PATH:KIND[:key=value]...
 *
 *   GET /v1/call_queues:429:retry-after=2:times=3
 *   /messaging/v1/sms:500:phase=after:times=1
 *   GET /v1/**:503:retry-after-date=1:p=0.2
 *   /v1/user_call_records:redirect:status=307:to=other
 *
 * KIND: a status code (4xx/5xx → error, 204 → empty, 301/302/303/307/308 → redirect), or one of `reset`,
 * `reset-body`, `slow-headers`, `slow-body`, `truncate`, `malformed-json`, `html`, `content-type`, `empty`,
 * `redirect`. Options: `times=N`, `requests=A-B` (or `A`, or `A-`), `p=0.25`, `phase=before|after`,
 * `retry-after=S`, `retry-after-date=S`, `delay=MS`, `chunk-bytes=N`, `after-bytes=N`, `type=MIME`,
 * `status=3xx`, `to=same|other`, `path=/x`.
 */
import {
  redirectStatuses,
  validateFaultRule,
  type Fault,
  type FaultRule,
  type RedirectStatus,
} from './faults.ts';

const methodPattern = /^(\*|[A-Za-z]+)\s+(\/.*)$/;

/** Parses one `--fault` string. Throws an error that quotes the spec and says what is wrong. */
export function parseFaultSpec(spec: string): FaultRule {
  const fail = (problem: string): never => {
    throw new Error(`invalid fault "${spec}": ${problem}`);
  };
  const trimmed = spec.trim();
  const methodMatch = methodPattern.exec(trimmed);
  const method = methodMatch?.[1]?.toUpperCase();
  const rest = methodMatch?.[2] ?? trimmed;
  const [path = '', kind = '', ...optionParts] = rest.split(':');
  if (!path.startsWith('/')) fail('the path must start with "/"');
  if (kind === '') fail('missing the fault kind after the path (e.g. ":429")');

  const options = new Map<string, string>();
  for (const part of optionParts) {
    const eq = part.indexOf('=');
    if (eq <= 0) fail(`option "${part}" is not key=value`);
    options.set(part.slice(0, eq), part.slice(eq + 1));
  }
  const used = new Set<string>();
  const take = (key: string): string | undefined => {
    used.add(key);
    return options.get(key);
  };
  const number = (key: string): number | undefined => {
    const raw = take(key);
    if (raw === undefined) return undefined;
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value)) fail(`${key}=${raw} is not a number`);
    return value;
  };

  const fault = parseFault(kind, take, number, fail);
  const times = number('times');
  const probability = number('p') ?? number('probability');
  const requests = parseRequests(take('requests'), fail);
  const phaseText = take('phase');
  if (phaseText !== undefined && phaseText !== 'before' && phaseText !== 'after') {
    fail(`phase=${phaseText}: expected before or after`);
  }
  const unknown = [...options.keys()].filter((key) => !used.has(key));
  if (unknown.length > 0) fail(`unknown option(s) for ${kind}: ${unknown.join(', ')}`);

  const rule: FaultRule = {
    path,
    fault,
    ...(method === undefined ? {} : { method }),
    ...(times === undefined ? {} : { times }),
    ...(requests === undefined ? {} : { requests }),
    ...(probability === undefined ? {} : { probability }),
    ...(phaseText === undefined ? {} : { phase: phaseText === 'after' ? 'after-handler' : 'before-handler' }),
  };
  try {
    validateFaultRule(rule);
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }
  return rule;
}

function parseFault(
  kind: string,
  take: (key: string) => string | undefined,
  number: (key: string) => number | undefined,
  fail: (problem: string) => never,
): Fault {
  if (/^\d{3}$/.test(kind)) {
    const status = Number(kind);
    if (status === 204) return { type: 'empty' };
    if (isRedirectStatus(status)) return redirect(status, take, fail);
    if (status < 400 || status > 599) fail(`status ${status}: use 204, a redirect status or 4xx/5xx`);
    const seconds = number('retry-after');
    const dateSeconds = number('retry-after-date');
    if (seconds !== undefined && dateSeconds !== undefined)
      fail('give retry-after OR retry-after-date, not both');
    if (seconds !== undefined) return { type: 'status', status, retryAfter: { seconds, format: 'seconds' } };
    if (dateSeconds !== undefined) {
      return { type: 'status', status, retryAfter: { seconds: dateSeconds, format: 'http-date' } };
    }
    return { type: 'status', status };
  }
  switch (kind) {
    case 'reset':
      return { type: 'reset', when: 'before-headers' };
    case 'reset-body': {
      const afterBytes = number('after-bytes');
      return { type: 'reset', when: 'mid-body', ...(afterBytes === undefined ? {} : { afterBytes }) };
    }
    case 'slow-headers':
      return { type: 'slow-headers', delayMs: number('delay') ?? 1000 };
    case 'slow-body': {
      const chunkBytes = number('chunk-bytes');
      return {
        type: 'slow-body',
        delayMs: number('delay') ?? 200,
        ...(chunkBytes === undefined ? {} : { chunkBytes }),
      };
    }
    case 'truncate': {
      const afterBytes = number('after-bytes');
      return { type: 'truncated-body', ...(afterBytes === undefined ? {} : { afterBytes }) };
    }
    case 'malformed-json':
      return { type: 'malformed-json' };
    case 'html':
      return { type: 'html' };
    case 'content-type': {
      const contentType = take('type');
      return { type: 'wrong-content-type', ...(contentType === undefined ? {} : { contentType }) };
    }
    case 'empty':
      return { type: 'empty' };
    case 'redirect': {
      const status = number('status') ?? 302;
      if (!isRedirectStatus(status)) fail(`status=${status}: expected one of ${redirectStatuses.join(', ')}`);
      return redirect(status, take, fail);
    }
    default:
      return fail(
        `unknown kind "${kind}": expected a status code, reset, reset-body, slow-headers, slow-body, truncate, ` +
          'malformed-json, html, content-type, empty or redirect',
      );
  }
}

function redirect(
  status: RedirectStatus,
  take: (key: string) => string | undefined,
  fail: (problem: string) => never,
): Fault {
  const to = take('to') ?? 'same';
  if (to !== 'same' && to !== 'other') fail(`to=${to}: expected same or other`);
  const path = take('path');
  return {
    type: 'redirect',
    status,
    target: to === 'other' ? 'other-origin' : 'same-origin',
    ...(path === undefined ? {} : { path }),
  };
}

function parseRequests(
  text: string | undefined,
  fail: (problem: string) => never,
): { readonly from: number; readonly to?: number } | undefined {
  if (text === undefined) return undefined;
  const match = /^(\d+)(-(\d*))?$/.exec(text);
  if (match === null) return fail(`requests=${text}: expected N, A-B or A-`);
  const from = Number(match[1]);
  if (match[2] === undefined) return { from, to: from };
  return match[3] === '' || match[3] === undefined ? { from } : { from, to: Number(match[3]) };
}

function isRedirectStatus(status: number): status is RedirectStatus {
  return (redirectStatuses as readonly number[]).includes(status);
}
