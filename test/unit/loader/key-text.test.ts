import { describe, expect, it } from 'vitest';
import { maxRecordDepth, nestsDeeperThan } from '../../../src/db/tables/json-depth.ts';
import { numericText, primaryKeyTexts, topLevelNumberTokens } from '../../../src/db/tables/key-text.ts';

describe('numericText: a JSON number as Postgres prints the jsonb numeric', () => {
  it.each([
    ['12345678901234567890', '12345678901234567890'],
    ['12345678901234567891', '12345678901234567891'],
    ['1.0', '1.0'],
    ['1e3', '1000'],
    ['1E+3', '1000'],
    ['1.50e1', '15.0'],
    ['-0', '0'],
    ['-0.0', '0.0'],
    ['1e-3', '0.001'],
    ['100e-2', '1.00'],
    ['-12.3400', '-12.3400'],
    ['0e5', '0'],
  ])('%s → %s', (token, text) => {
    expect(numericText(token)).toBe(text);
  });

  it('refuses what is not a JSON number and numbers too long to key on', () => {
    expect(numericText('1e5000')).toBeUndefined();
    expect(numericText(`1${'0'.repeat(1000)}`)).toBeUndefined();
    expect(numericText('0x10')).toBeUndefined();
  });
});

describe('topLevelNumberTokens', () => {
  it('finds the raw tokens of top-level members only, skipping strings and nested values', () => {
    const text =
      ' { "a" : {"id": 1, "s": "\\"id\\": 2"}, "s": "x\\\\", "id" : 12345678901234567891 , "z": [1,{"id":3}] }';
    expect(topLevelNumberTokens(text, ['id'])).toEqual(['12345678901234567891']);
  });

  it('decodes escaped member names and takes the last of a duplicated member, as jsonb does', () => {
    expect(topLevelNumberTokens('{"\\u0069d":1,"id":2.50}', ['id'])).toEqual(['2.50']);
    expect(topLevelNumberTokens('{"id":1,"\\u0069d":2}', ['id'])).toEqual(['2']);
    expect(topLevelNumberTokens('{"id":1,"x":{"id":5},"id":3}', ['id'])).toEqual(['3']);
    expect(topLevelNumberTokens('{"id":1,"id":"x"}', ['id'])).toEqual([undefined]);
    expect(topLevelNumberTokens('{"a":1,"b":2.0}', ['b', 'a'])).toEqual(['2.0', '1']);
  });
});

describe('primaryKeyTexts', () => {
  it('keys strings as themselves, booleans as true/false and numbers by their raw token', () => {
    const text = '{"a":"5","b":5,"c":true,"d":1e3}';
    expect(primaryKeyTexts(JSON.parse(text) as Record<string, unknown>, text, ['a', 'b', 'c', 'd'])).toEqual([
      { ok: true, text: '5' },
      { ok: true, text: '5' },
      { ok: true, text: 'true' },
      { ok: true, text: '1000' },
    ]);
  });
});

describe('nestsDeeperThan', () => {
  const deep = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);
  it('counts brackets outside strings only', () => {
    expect(nestsDeeperThan(deep(maxRecordDepth), maxRecordDepth)).toBe(false);
    expect(nestsDeeperThan(deep(maxRecordDepth + 1), maxRecordDepth)).toBe(true);
    expect(nestsDeeperThan(`["${'['.repeat(30_000)}"]`, maxRecordDepth)).toBe(false);
    expect(nestsDeeperThan(`["\\\\",${deep(4)}]`, 4)).toBe(true);
  });
});
