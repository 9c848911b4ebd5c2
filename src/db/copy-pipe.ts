/**
 * The bulk path of a merge's INSERT: Postgres computes the rows on a second connection and streams them, with
 * `COPY (SELECT …) TO STDOUT`, into `COPY target FROM STDIN` inside the merge's transaction. Node only passes bytes
 * on (and counts the coercion flags each row carries in front).
 *
 * Why: a plain `INSERT … SELECT` writes row by row through shared_buffers, evicting its own dirty pages once the
 * table outgrows them (1 M call records: 47 s against a `COPY` of the same rows in 31 s, docs/loading.md), and
 * it parses, casts and hashes on the same core as it writes. `COPY FROM` writes with multi-row inserts through a
 * bulk-write ring, and the second connection does the parsing, casts and hashing on the other core. The rows are
 * still written by the merge transaction, so readers see the table before or after, never half of it.
 *
 * The reading connection cannot see the merge transaction's uncommitted work: the staged rows and their
 * `superseded` marks must be committed before (they are), and a merge that repairs staging inside its transaction
 * uses the plain `INSERT` instead.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { CompiledQuery } from 'kysely';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';

/** What a pipe wrote. */
export interface PipeOutcome {
  /** Rows `COPY FROM` wrote. */
  readonly rows: number;
  /** Per flag position: rows whose flag was `1`. */
  readonly flagCounts: readonly number[];
}

export interface PipeRowsInput {
  /** The merge transaction's own connection (the rows are written there). */
  readonly writer: pg.ClientBase;
  /** Connection settings for the reading connection (a fresh one: never a pool slot another merge may wait for). */
  readonly readerConfig: pg.ClientConfig;
  /**
   * The rows: a SELECT whose first column is a text of `flags` characters `0`/`1` (e.g. "did not fit" per typed
   * column) and whose other columns are, in order, `columns` of the target. Parameters are inlined as literals
   * (COPY takes none).
   */
  readonly select: CompiledQuery;
  readonly flags: number;
  /** The target table and columns, already quoted. */
  readonly target: string;
  readonly columns: readonly string[];
}

/** Streams `select`'s rows into `target` on `writer`. Rejects with the reading or writing side's first error. */
export async function pipeRows(input: PipeRowsInput): Promise<PipeOutcome> {
  const reader = new pg.Client(input.readerConfig);
  // An error on the idle reader (its server going away) must not crash the process: the pipe fails on its own.
  reader.on('error', () => undefined);
  await reader.connect();
  try {
    // The reader prints what the writer reads back: zone-less timestamps as UTC (as the merge reads them), ISO
    // dates, exact floats, and string literals without backslash escapes (the inlined parameters rely on it).
    await reader.query(
      "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, MDY'; SET extra_float_digits = 1; " +
        "SET standard_conforming_strings = on; SET IntervalStyle = 'postgres'; SET work_mem = '64MB'",
    );
    const source = reader.query(copyTo(`COPY (${inlineParameters(input.select)}) TO STDOUT`));
    const sink = input.writer.query(
      copyFrom(`COPY ${input.target} (${input.columns.join(', ')}) FROM STDIN`),
    );
    const tally = new FlagTally(input.flags);
    await pipeline(source, tally, sink);
    return { rows: sink.rowCount, flagCounts: tally.counts };
  } finally {
    await reader.end().catch(() => undefined);
  }
}

/**
 * Cuts the first field (the flags) off each line of COPY text output and counts its `1`s per position. COPY text
 * escapes tab and newline inside values, so a raw tab ends a field and a raw newline ends a row; UTF-8 never puts
 * those bytes inside a character.
 */
export class FlagTally extends Transform {
  readonly counts: number[];
  #pending: Buffer[] = [];

  constructor(flags: number) {
    super();
    this.counts = Array.from({ length: flags }, () => 0);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    const lastNewline = chunk.lastIndexOf(10);
    if (lastNewline === -1) {
      this.#pending.push(chunk);
      done();
      return;
    }
    const head = this.#pending.length === 0 ? chunk : Buffer.concat([...this.#pending, chunk]);
    const end = head.length - (chunk.length - lastNewline - 1);
    this.#pending = end < head.length ? [head.subarray(end)] : [];
    const out: Buffer[] = [];
    const counts = this.counts;
    for (let start = 0; start < end;) {
      const newline = head.indexOf(10, start);
      const tab = head.indexOf(9, start);
      if (tab === -1 || tab > newline) {
        done(new Error('COPY row without its flags field'));
        return;
      }
      for (let i = start; i < tab; i++) if (head[i] === 49) counts[i - start] = (counts[i - start] ?? 0) + 1;
      out.push(head.subarray(tab + 1, newline + 1));
      start = newline + 1;
    }
    done(null, out.length === 1 ? out[0] : Buffer.concat(out));
  }

  override _flush(done: TransformCallback): void {
    if (this.#pending.some((b) => b.length > 0)) done(new Error('COPY output ended inside a row'));
    else done();
  }
}

/**
 * A compiled query with its `$n` placeholders replaced by SQL literals (strings quoted with `''` doubling, which
 * needs standard_conforming_strings, numbers as written, booleans, NULL, arrays as `ARRAY[…]`). Placeholders are
 * only recognised outside quoted strings and identifiers.
 */
export function inlineParameters(query: CompiledQuery): string {
  const { sql: text, parameters } = query;
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === "'" || c === '"') {
      let j = i + 1;
      for (; j < text.length; j++) {
        if (text[j] === c) {
          if (text[j + 1] === c) j++;
          else break;
        }
      }
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (c === '$' && /[0-9]/.test(text[i + 1] ?? '')) {
      let j = i + 1;
      while (j < text.length && /[0-9]/.test(text[j] ?? '')) j++;
      const index = Number(text.slice(i + 1, j)) - 1;
      if (index < 0 || index >= parameters.length)
        throw new RangeError(`no parameter for ${text.slice(i, j)}`);
      out += literal(parameters[index]);
      i = j;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

function literal(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'string') return `'${value.replaceAll("'", "''")}'`;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError(`cannot inline the number ${value}`);
    return String(value);
  }
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (Array.isArray(value)) return `ARRAY[${value.map(literal).join(', ')}]`;
  throw new TypeError(`cannot inline a parameter of type ${typeof value}`);
}
