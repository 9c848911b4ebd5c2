/**
 * Fault injection: the faults the sandbox can serve, the rules that say when (route pattern, request numbers,
 * seeded probability), and the book that holds the rules, counts requests per rule and picks the fault of a request.
 * Rules are checked in the order they were added; the first one that fires wins.
 */
import { z } from 'zod';
import { createRandom, mixSeed } from './random.ts';

/** How long a client must wait, and how the `Retry-After` header says it. */
export interface RetryAfter {
  readonly seconds: number;
  /** `seconds`: `Retry-After: 2`; `http-date`: an IMF-fixdate, rounded UP to the next whole second. */
  readonly format: 'seconds' | 'http-date';
}

export const redirectStatuses = [301, 302, 303, 307, 308] as const;
export type RedirectStatus = (typeof redirectStatuses)[number];

/** One fault. Discriminated on `type`. */
export type Fault =
  /** An error (4xx/5xx) with a JSON body, optionally with `Retry-After`. 429 and 503 are the usual ones. */
  | { readonly type: 'status'; readonly status: number; readonly retryAfter?: RetryAfter }
  /** `socket.destroy()`: before any header is sent, or after `afterBytes` of the body (default: half of it). */
  | { readonly type: 'reset'; readonly when: 'before-headers' | 'mid-body'; readonly afterBytes?: number }
  /** Waits `delayMs` before the status line, then answers normally. */
  | { readonly type: 'slow-headers'; readonly delayMs: number }
  /** Sends the headers at once, then the body in `chunkBytes` pieces (default 1024), waiting `delayMs` before each. */
  | { readonly type: 'slow-body'; readonly delayMs: number; readonly chunkBytes?: number }
  /** Declares the full `Content-Length`, sends `afterBytes` (default half) and ends the connection. */
  | { readonly type: 'truncated-body'; readonly afterBytes?: number }
  /** 200, `application/json`, a body that is not JSON. */
  | { readonly type: 'malformed-json' }
  /** 200, `text/html`, a maintenance page. */
  | { readonly type: 'html' }
  /** The normal body with another `Content-Type` (default `text/plain; charset=utf-8`). */
  | { readonly type: 'wrong-content-type'; readonly contentType?: string }
  /** 204 No Content. */
  | { readonly type: 'empty' }
  /**
   * A redirect to the same path (or `path`) on this origin or on the sandbox's OTHER origin (a second listener
   * that logs what credentials reach it). Credential query parameters are removed from `Location`.
   */
  | {
      readonly type: 'redirect';
      readonly status: RedirectStatus;
      readonly target: 'same-origin' | 'other-origin';
      readonly path?: string;
    };

export type FaultType = Fault['type'];

/** When a fault applies. Counting is per rule: request N is the Nth request matching its method and path. */
export interface FaultRule {
  /** An HTTP method, or `*` (default) for any. */
  readonly method?: string;
  /** The URL path (no query): exact, or a glob where `*` matches within a segment and `**` across segments. */
  readonly path: string;
  readonly fault: Fault;
  /** Fire on the first `times` matching requests only. */
  readonly times?: number;
  /** Fire on matching requests `from` to `to` (1-based, inclusive; `to` absent = no end). */
  readonly requests?: { readonly from: number; readonly to?: number };
  /** Fire with this probability (0–1), drawn from a PRNG seeded by the sandbox seed, the rule and the request. */
  readonly probability?: number;
  /**
   * `before-handler` (default): the request never reaches the API, so nothing happens (no SMS is sent).
   * `after-handler`: the API handles the request (an SMS IS sent), then the fault replaces the answer — the
   * "did it happen?" case. Faults that reshape the real body (slow/truncated/reset mid-body/wrong type) always
   * run the handler.
   */
  readonly phase?: 'before-handler' | 'after-handler';
}

/** A rule in the book, with its id and how often it matched and fired. */
export interface FaultRuleState {
  readonly id: number;
  readonly rule: FaultRule;
  /** Requests that matched the rule's method and path. */
  readonly matched: number;
  /** Requests the fault was applied to. */
  readonly fired: number;
}

/** The fault chosen for one request. */
export interface FaultDecision {
  readonly ruleId: number;
  readonly fault: Fault;
  readonly phase: 'before-handler' | 'after-handler';
  /** The request's number for that rule (1-based). */
  readonly requestNumber: number;
}

const retryAfterSchema = z.object({
  seconds: z.number().nonnegative().max(86_400),
  format: z.enum(['seconds', 'http-date']),
});
const byteCount = z.number().int().nonnegative();

const faultSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('status'),
    status: z.number().int().min(400).max(599),
    retryAfter: retryAfterSchema.optional(),
  }),
  z.object({
    type: z.literal('reset'),
    when: z.enum(['before-headers', 'mid-body']),
    afterBytes: byteCount.optional(),
  }),
  z.object({ type: z.literal('slow-headers'), delayMs: z.number().nonnegative() }),
  z.object({
    type: z.literal('slow-body'),
    delayMs: z.number().nonnegative(),
    chunkBytes: z.number().int().positive().optional(),
  }),
  z.object({ type: z.literal('truncated-body'), afterBytes: byteCount.optional() }),
  z.object({ type: z.literal('malformed-json') }),
  z.object({ type: z.literal('html') }),
  z.object({ type: z.literal('wrong-content-type'), contentType: z.string().min(1).optional() }),
  z.object({ type: z.literal('empty') }),
  z.object({
    type: z.literal('redirect'),
    status: z.union(redirectStatuses.map((status) => z.literal(status))),
    target: z.enum(['same-origin', 'other-origin']),
    path: z.string().startsWith('/').optional(),
  }),
]);

const faultRuleSchema = z.object({
  method: z.string().min(1).optional(),
  path: z.string().startsWith('/'),
  fault: faultSchema,
  times: z.number().int().positive().optional(),
  requests: z
    .object({ from: z.number().int().positive(), to: z.number().int().positive().optional() })
    .refine(
      (range) => range.to === undefined || range.to >= range.from,
      'requests.to must be ≥ requests.from',
    )
    .optional(),
  probability: z.number().min(0).max(1).optional(),
  phase: z.enum(['before-handler', 'after-handler']).optional(),
});

/** Throws a readable error naming the path and the problem when a rule is invalid. */
export function validateFaultRule(rule: FaultRule): void {
  const result = faultRuleSchema.safeParse(rule);
  if (!result.success) {
    const problems = result.error.issues.map(
      (issue) => `${issue.path.join('.') || '(rule)'}: ${issue.message}`,
    );
    throw new Error(`invalid fault rule for ${rule.path}: ${problems.join('; ')}`);
  }
}

/** The faults that only reshape the real answer, so the handler must run first. */
const reshapingFaults: ReadonlySet<FaultType> = new Set([
  'slow-body',
  'truncated-body',
  'wrong-content-type',
]);

/** The phase a fault runs in, given its rule. */
export function phaseOf(rule: FaultRule): 'before-handler' | 'after-handler' {
  const { fault } = rule;
  if (reshapingFaults.has(fault.type) || (fault.type === 'reset' && fault.when === 'mid-body'))
    return 'after-handler';
  return rule.phase ?? 'before-handler';
}

/** Compiles a path glob (`*` within a segment, `**` across segments) to a RegExp. */
export function pathPattern(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i += 1) {
    const char = glob[i] as string;
    if (char === '*' && glob[i + 1] === '*') {
      source += '.*';
      i += 1;
    } else if (char === '*') {
      source += '[^/]*';
    } else {
      source += char.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`);
}

interface RuleEntry {
  readonly id: number;
  readonly rule: FaultRule;
  readonly pattern: RegExp;
  matched: number;
  fired: number;
}

/** The runtime set of fault rules of one sandbox. */
export interface FaultBook {
  /** Adds a rule (validated) and returns its id. */
  add(rule: FaultRule): number;
  /** Removes one rule; true when it existed. */
  remove(id: number): boolean;
  /** Removes every rule. */
  clear(): void;
  /** The rules with their counters. */
  list(): readonly FaultRuleState[];
  /** Counts the request against every rule it matches and returns the fault to apply, if any. */
  decide(method: string, path: string): FaultDecision | undefined;
}

/** A fault book whose probabilistic rules draw from `seed`. */
export function createFaultBook(seed: number, initial: readonly FaultRule[] = []): FaultBook {
  const rules: RuleEntry[] = [];
  let nextId = 1;

  const fires = (entry: RuleEntry, requestNumber: number): boolean => {
    const { rule } = entry;
    if (rule.times !== undefined && requestNumber > rule.times) return false;
    if (rule.requests !== undefined) {
      if (requestNumber < rule.requests.from) return false;
      if (rule.requests.to !== undefined && requestNumber > rule.requests.to) return false;
    }
    if (rule.probability !== undefined) {
      return createRandom(mixSeed(seed, entry.id, requestNumber))() < rule.probability;
    }
    return true;
  };

  const book: FaultBook = {
    add(rule) {
      validateFaultRule(rule);
      const id = nextId;
      nextId += 1;
      rules.push({ id, rule, pattern: pathPattern(rule.path), matched: 0, fired: 0 });
      return id;
    },
    remove(id) {
      const index = rules.findIndex((entry) => entry.id === id);
      if (index < 0) return false;
      rules.splice(index, 1);
      return true;
    },
    clear() {
      rules.length = 0;
    },
    list() {
      return rules.map(({ id, rule, matched, fired }) => ({ id, rule, matched, fired }));
    },
    decide(method, path) {
      let decision: FaultDecision | undefined;
      for (const entry of rules) {
        const ruleMethod = (entry.rule.method ?? '*').toUpperCase();
        if (ruleMethod !== '*' && ruleMethod !== method.toUpperCase()) continue;
        if (!entry.pattern.test(path)) continue;
        entry.matched += 1;
        if (decision === undefined && fires(entry, entry.matched)) {
          entry.fired += 1;
          decision = {
            ruleId: entry.id,
            fault: entry.rule.fault,
            phase: phaseOf(entry.rule),
            requestNumber: entry.matched,
          };
        }
      }
      return decision;
    },
  };
  for (const rule of initial) book.add(rule);
  return book;
}

/** A short label of a fault for logs, e.g. `status 429 (retry-after 2s)`, `redirect 307 other-origin`. */
export function describeFault(fault: Fault): string {
  switch (fault.type) {
    case 'status':
      return fault.retryAfter === undefined
        ? `status ${fault.status}`
        : `status ${fault.status} (retry-after ${fault.retryAfter.seconds}s as ${fault.retryAfter.format})`;
    case 'reset':
      return `reset ${fault.when}`;
    case 'slow-headers':
      return `slow-headers ${fault.delayMs}ms`;
    case 'slow-body':
      return `slow-body ${fault.delayMs}ms`;
    case 'redirect':
      return `redirect ${fault.status} ${fault.target}`;
    default:
      return fault.type;
  }
}
