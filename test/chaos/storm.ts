/**
 * The fault storm: sandbox fault rules that hit every data route of both APIs with seeded probabilities — 30 %
 * 5xx (a sixth of them 503 with `Retry-After`), 10 % 429 with `Retry-After` in seconds and as an HTTP date, and
 * resets (before the headers and mid-body), truncated bodies, slow headers and bodies, and redirects to the
 * sandbox's other origin (where no credential may follow). Each route gets its own rules, so the Nth request of a
 * route meets the same fault in every run of the same seed, whatever the other routes do.
 *
 * The SMS send is left out on purpose: a fault on it makes its outcome unknown by design (the product refuses to send
 * again; `test/e2e/ingest-sms.test.ts` covers that), which would take the messaging child workflow out of most
 * storms. Worker kills and Postgres stops still land on it.
 */
import { parseFaultSpec } from '../../src/sandbox/fault-spec.ts';
import type { FaultRule } from '../../src/sandbox/faults.ts';
import { communicationsResources, messagingPaths } from '../../src/sandbox/resources.ts';

/** Each fault (in the sandbox's `--fault` syntax, without path and probability) and its share of all requests. */
const stormShares: readonly (readonly [fault: string, share: number])[] = [
  ['500', 0.1],
  ['502', 0.05],
  ['503', 0.05],
  ['503:retry-after=1', 0.05],
  ['504', 0.05],
  ['429:retry-after=1', 0.05],
  ['429:retry-after-date=1', 0.05],
  ['reset', 0.02],
  ['reset-body', 0.02],
  ['truncate', 0.02],
  ['slow-headers:delay=300', 0.02],
  ['slow-body:delay=20:chunk-bytes=16384', 0.02],
  ['redirect:status=307:to=other', 0.02],
];

/** The data routes of both APIs (the SMS send apart: see the header). */
export const stormPaths: readonly string[] = [
  ...communicationsResources.map((resource) => `/v1/${resource}`),
  ...Object.values(messagingPaths),
  '/messaging/v1/messages/*',
];

/**
 * The storm's rules, in the order the sandbox must check them. Rules are drawn independently and the first that
 * fires wins, so each rule's probability is its share over what the rules before it left: every fault then hits
 * its share of a route's requests.
 */
export function stormRules(): readonly FaultRule[] {
  return stormPaths.flatMap((path) => {
    let left = 1;
    return stormShares.map(([fault, share]) => {
      const probability = share / left;
      left -= share;
      return parseFaultSpec(`GET ${path}:${fault}:p=${probability.toFixed(6)}`);
    });
  });
}

/** The storm's faults and shares, for the suite's description. */
export function describeStorm(): string {
  const total = stormShares.reduce((sum, [, share]) => sum + share, 0);
  return `${stormShares.map(([fault, share]) => `${fault} ${Math.round(share * 100)}%`).join(', ')} (${Math.round(total * 100)}% of requests)`;
}
