/**
 * What a load does to a resource table besides writing the staged rows: the write disposition (`merge`, `replace`,
 * `append`) and deletion detection, as the merge takes them — and the check that the table can hold the disposition
 * at all. A table keyed by the record's primary key can be merged or replaced; only a table keyed by the load
 * position (`tables/append-tables.ts`) can hold every record of every run.
 */
import { IngestError } from '../../errors.ts';
import type { ResourceTable } from '../tables/resource-tables.ts';

/** As the plan says it (`ResolvedResource.writeDisposition`). */
export type WriteDisposition = 'merge' | 'replace' | 'append';

/** How one merge treats the table. */
export interface MergeMode {
  /**
   * `merge`: insert new keys, update changed rows, leave the rest. `replace`: the same, then delete every row whose
   * key this load did not stage — in the same transaction. `append`: insert every staged record as a new row.
   */
  readonly disposition: WriteDisposition;
  /** `merge` only: mark live rows whose key this load did not stage as deleted (`_deleted_at`). */
  readonly deletionDetection: boolean;
}

export const mergeMode: MergeMode = { disposition: 'merge', deletionDetection: false };

/**
 * Throws a non-retryable `config` error when `target` cannot hold `mode`: append into a table whose PRIMARY KEY is
 * the record's key (every run would overwrite, not append), merge or replace into a table keyed by load position
 * (it has no unique record key to match on), or deletion detection without merge. Call it before fetching.
 */
export function assertDispositionFits(target: ResourceTable, mode: MergeMode): void {
  const name = `${target.source}.${target.resource}`;
  const table = `${target.schema}.${target.table}`;
  const keys = target.primaryKey.map((k) => k.column).join(', ');
  const refuse = (message: string): never => {
    throw new IngestError('config', 'DISPOSITION_TABLE_MISMATCH', message, {
      retryable: false,
      details: { source: target.source, resource: target.resource, disposition: mode.disposition },
    });
  };
  if (mode.disposition === 'append' && target.rowKey === 'record') {
    refuse(
      `${name}: write_disposition append needs a table keyed by load position, but ${table} has the record's ` +
        `primary key (${keys}) as its PRIMARY KEY, so a second copy of a record cannot be stored. Use merge or ` +
        'replace for this resource, or load it into a table of its own created for append (createAppendTable).',
    );
  }
  if (mode.disposition !== 'append' && target.rowKey === 'position') {
    refuse(
      `${name}: write_disposition ${mode.disposition} needs a table keyed by the record's primary key, but ` +
        `${table} is keyed by load position (an append table). Use append for this resource.`,
    );
  }
  if (target.primaryKey.length === 0) {
    // Merge and replace match rows by it; staging keys every record (dedupe, counts), so append needs one too.
    refuse(
      `${name}: write_disposition ${mode.disposition} needs a primary key, and ${table} has none registered.`,
    );
  }
  if (mode.deletionDetection && mode.disposition !== 'merge') {
    refuse(`${name}: deletion detection needs write_disposition merge (this load uses ${mode.disposition}).`);
  }
}
