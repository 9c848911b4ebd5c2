/**
 * How far a case's runs have got, counted from the sandbox's side: every data response served in full (status 200,
 * body complete) is one step. The chaos schedule waits on these steps to put each disruption while work is in
 * flight — events from the sandbox's request log, never sleeps.
 */
import type { RequestLogEntry } from '../../src/sandbox/request-log.ts';

/** What a case's requests came to (the sandbox's view; shown on the case's line). */
export interface RequestTally {
  /** Every request that reached either origin. */
  readonly requests: number;
  /** Requests a fault rule fired on. */
  readonly faults: number;
  /** Requests that reached the "other origin" (after a cross-origin redirect). */
  readonly otherOrigin: number;
  /** Data responses served in full: the steps the schedule counts. */
  readonly served: number;
}

/** The counter, fed by the sandbox's `onRequest`. */
export interface Progress {
  /** Feed one finished request (wire it to `startSandbox({ onRequest })`). */
  record(entry: RequestLogEntry): void;
  /** Data responses served in full so far. */
  readonly served: number;
  /** Starts counting a new case from zero. */
  reset(): void;
  /** The tally since the last reset. */
  tally(): RequestTally;
  /** Resolves once `served` reaches `steps`, or with false when `abort` fires first. */
  reach(steps: number, abort: AbortSignal): Promise<boolean>;
}

/** A progress counter with no steps yet. */
export function createProgress(): Progress {
  let counts = { requests: 0, faults: 0, otherOrigin: 0, served: 0 };
  let waiters: { readonly steps: number; readonly resolve: (reached: boolean) => void }[] = [];

  const wake = () => {
    const due = waiters.filter((waiter) => counts.served >= waiter.steps);
    waiters = waiters.filter((waiter) => counts.served < waiter.steps);
    for (const waiter of due) waiter.resolve(true);
  };

  return {
    record(entry) {
      counts.requests += 1;
      if (entry.fault !== undefined) counts.faults += 1;
      if (entry.origin === 'other') counts.otherOrigin += 1;
      if (entry.status === 200 && entry.outcome === 'complete' && entry.route !== undefined) {
        counts.served += 1;
        wake();
      }
    },
    get served() {
      return counts.served;
    },
    reset() {
      counts = { requests: 0, faults: 0, otherOrigin: 0, served: 0 };
    },
    tally: () => ({ ...counts }),
    reach(steps, abort) {
      if (counts.served >= steps) return Promise.resolve(true);
      if (abort.aborted) return Promise.resolve(false);
      return new Promise((resolve) => {
        const waiter = { steps, resolve };
        waiters.push(waiter);
        abort.addEventListener(
          'abort',
          () => {
            waiters = waiters.filter((other) => other !== waiter);
            resolve(false);
          },
          { once: true },
        );
      });
    },
  };
}
