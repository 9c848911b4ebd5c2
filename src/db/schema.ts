/**
 * Table types for Kysely. System tables live in the `ingest` schema (created by `migrations/`); resource tables are
 * per source and typed at run time, so they are addressed with `withSchema(...)` and dynamic references.
 */

/** Tables Kysely knows statically. Filled in as migrations add system tables. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface Database {}
