import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import type { CompiledQuery } from 'kysely';
import { describe, expect, it } from 'vitest';
import { FlagTally, inlineParameters } from '../../../src/db/copy-pipe.ts';

function compiled(sql: string, parameters: readonly unknown[]): CompiledQuery {
  return { sql, parameters, query: { kind: 'RawNode' } } as unknown as CompiledQuery;
}

async function tally(chunks: readonly string[], flags: number): Promise<{ out: string; counts: number[] }> {
  const t = new FlagTally(flags);
  const out = await text(Readable.from(chunks.map((c) => Buffer.from(c))).pipe(t));
  return { out, counts: t.counts };
}

describe('FlagTally', () => {
  it('cuts the flags field off every row and counts its 1s per position, whatever the chunking', async () => {
    const rows = '01\ta\tb\n10\tc\\td\n11\tÿé€\t\\N\n00\tx\ty\n';
    const expected = { out: 'a\tb\nc\\td\nÿé€\t\\N\nx\ty\n', counts: [2, 2] };
    expect(await tally([rows], 2)).toEqual(expected);
    const bytes = Buffer.from(rows);
    // Every cut, including inside a multi-byte character and right after a newline.
    for (let cut = 1; cut < bytes.length; cut++) {
      const t = new FlagTally(2);
      const out = await text(Readable.from([bytes.subarray(0, cut), bytes.subarray(cut)]).pipe(t));
      expect({ out, counts: t.counts }).toEqual(expected);
    }
  });

  it('handles rows without flags and a row spread over many chunks', async () => {
    const long = 'z'.repeat(10_000);
    const chunks = ['\tfirst\n\t', ...long.match(/.{1,999}/g)!, '\n'];
    expect(await tally(chunks, 0)).toEqual({ out: `first\n${long}\n`, counts: [] });
  });

  it('fails on output that ends inside a row or a row without its flags', async () => {
    await expect(tally(['1\ta\n1\tb'], 1)).rejects.toThrow('ended inside a row');
    await expect(tally(['no tab here\n'], 1)).rejects.toThrow('without its flags');
  });
});

describe('inlineParameters', () => {
  it('replaces placeholders by literals, outside quoted strings and identifiers only', () => {
    const query = compiled(
      `SELECT $1, "we$2ird""$1", 'it''s $2', $2::text[], $3, $4, $5, $10 FROM t WHERE x ~ '^\\d{4}'`,
      ["O'Brien", ['a', "b'c"], 42, true, null, 0, 0, 0, 0, 'ten'],
    );
    expect(inlineParameters(query)).toBe(
      `SELECT 'O''Brien', "we$2ird""$1", 'it''s $2', ARRAY['a', 'b''c']::text[], 42, true, NULL, 'ten' FROM t WHERE x ~ '^\\d{4}'`,
    );
  });

  it('refuses what it cannot inline exactly', () => {
    expect(() => inlineParameters(compiled('SELECT $2', [1]))).toThrow('no parameter for $2');
    expect(() => inlineParameters(compiled('SELECT $1', [Number.NaN]))).toThrow('cannot inline');
    expect(() => inlineParameters(compiled('SELECT $1', [{ a: 1 }]))).toThrow('cannot inline');
  });
});
