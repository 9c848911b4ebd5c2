/**
 * How deep a record may nest before the loader rejects it (`too-deep`) instead of letting Postgres try. Postgres has
 * no fixed jsonb depth limit: its parser stops at `max_stack_depth` (with the default 2 MB, PostgreSQL 17 parses 12 000
 * levels and fails on 20 000 with 54001 "stack depth limit exceeded"). That error is not a soft input
 * error, so staging's jsonb check cannot sort it out record by record; the loader therefore refuses deeper records
 * before they reach Postgres (`record-top-level.ts` measures a record's depth).
 */

/** Deepest nesting of arrays and objects in one record that the loader stages. */
export const maxRecordDepth = 10_000;

/**
 * The extractor's `maxDepth` for a resource's responses: well beyond {@link maxRecordDepth}, so that a record nested
 * too deep reaches staging and is rejected alone while the rest of the response lands. Only a body deeper than this
 * (adversarial: 100 000 levels) fails as a whole. The scanner keeps one byte per level: 100 KB.
 */
export const maxBodyDepth = 100_000;
