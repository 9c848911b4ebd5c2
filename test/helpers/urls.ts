/** Connection-string helpers for tests. */

/** The migrated database each test file clones. */
export const templateDatabase = 'ingest_template';

/** The same server, another database. */
export function withDatabaseName(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
