/**
 * No SMS was sent twice: the case has one messaging load, so one SMS intent — the sandbox may have received at most
 * one send request for it and created at most one message, whatever crashed when (a send whose reply was lost
 * is never repeated: its outcome is reported unknown instead).
 */
import type { SentMessage } from '../../../src/sandbox/messaging-store.ts';
import type { RequestLogEntry } from '../../../src/sandbox/request-log.ts';
import type { CheckResult } from './result.ts';

export interface SendsInput {
  /** The sends the sandbox received during the case. */
  readonly sends: readonly SentMessage[];
  /** The case's request log. */
  readonly entries: readonly RequestLogEntry[];
}

/** Checks the case's SMS traffic. */
export function checkSends(input: SendsInput): CheckResult {
  const requests = input.entries.filter((entry) => entry.route === '/messaging/v1/sms');
  const problems: string[] = [];
  if (input.sends.length > 1)
    problems.push(`the sandbox received ${input.sends.length} sends for one SMS intent`);
  if (requests.length > 1)
    problems.push(`${requests.length} SMS requests reached the sandbox for one intent`);
  return { check: 'sends', problems, facts: `${input.sends.length} sent` };
}
