/** What the checks read about a case, and what each of them found. */
import type { LoadReport } from '../../../src/shared/ingest-types.ts';

/** What one check found: its name, what differed (empty when it passed) and a few numbers for the case's line. */
export interface CheckResult {
  readonly check: string;
  /** Each difference, in words (never a secret's value). */
  readonly problems: readonly string[];
  /** Key numbers, e.g. `3 histories, 412 payloads`. */
  readonly facts: string;
}

/** How one `ingestSource` run of a case ended. */
export interface RunOutcome {
  readonly source: string;
  readonly workflowId: string;
  /** Its report: the result, or the details of its typed failure. Undefined when it left none. */
  readonly report: LoadReport | undefined;
  /** The failure's text when the run failed (a partial run fails too, with its report). */
  readonly failure: string | undefined;
}
