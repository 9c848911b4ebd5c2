import { describe, expect, it } from 'vitest';
import {
  escapeRawControlChars,
  findEscapeIssues,
  noIssues,
  rawControlIssues,
} from '../../../src/http/extract/record-issues.ts';

describe('findEscapeIssues', () => {
  it.each([
    ['{"a":1}', []],
    ['"\\u0000"', ['nul-char']],
    ['"\\U0000"', []], // not an escape JSON knows; JSON.parse refuses it before this runs
    ['"\\uD83D\\uDE00"', []],
    ['"\\ud83d\\uDE00\\ud83d"', ['lone-surrogate']],
    ['"\\ude00\\ud83d"', ['lone-surrogate']],
    ['"\\\\ud800"', []],
    ['"\\\\\\ud800"', ['lone-surrogate']],
    ['"\\u00e9\\u20ac"', []],
    ['["\\ud800","\\udc00"]', ['lone-surrogate']],
    ['["\\u0000\\ud800"]', ['nul-char', 'lone-surrogate']],
  ])('%s → %j', (text, issues) => {
    expect(findEscapeIssues(text)).toEqual(issues);
  });

  it('shares one frozen empty list for clean records', () => {
    expect(findEscapeIssues('{"a":"\\u00e9"}')).toBe(noIssues);
    expect(Object.isFrozen(noIssues)).toBe(true);
  });
});

describe('escapeRawControlChars', () => {
  it.each([
    ['{"a":"x\u0000y"}', '{"a":"x\\u0000y"}'],
    ['["\t","\\\\\n"]', '["\\u0009","\\\\\\u000a"]'],
    ['{\n"a" :\t"b"\r\n}', undefined],
    ['{"a":"b"}', undefined],
  ])('%j → %j', (text, escaped) => {
    expect(escapeRawControlChars(text)).toBe(escaped);
  });

  it('flags raw control bytes together with escape issues', () => {
    expect(rawControlIssues('["\\u0000\\udfff"]')).toEqual([
      'nul-char',
      'lone-surrogate',
      'raw-control-char',
    ]);
    expect(rawControlIssues('["\\u0009"]')).toEqual(['raw-control-char']);
  });
});
