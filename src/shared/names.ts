/**
 * Names that are public API: operators type them into the Temporal CLI and UI, schedules and saved histories
 * refer to them. Changing one breaks running workflows, schedules and replay fixtures — don't.
 * This module is imported by workflow code, so it holds constants only.
 */

/** The task queue every durable-ingest worker polls. */
export const taskQueue = 'ingest';

/** Custom search attributes (all `Keyword`) that make runs findable in the Web UI and `temporal workflow list`. */
export const searchAttributes = {
  /** The source a run ingests, e.g. `messaging`. */
  source: 'IngestSource',
  /** How the run ended: `ok`, `partial` or `failed` (`running` while it runs). */
  outcome: 'IngestOutcome',
} as const;

/** The search attributes and their types, as registered on the server. */
export const searchAttributeTypes: ReadonlyArray<readonly [name: string, type: 'Keyword']> = [
  [searchAttributes.source, 'Keyword'],
  [searchAttributes.outcome, 'Keyword'],
];
