import { describe, expect, it } from 'vitest';
import { IngestError } from '../../../src/errors.ts';
import { formatDataSelector, parseDataSelector } from '../../../src/http/extract/data-selector.ts';

describe('parseDataSelector', () => {
  const valid: [string, string[]][] = [
    ['$', []],
    ['data', ['data']],
    ['$.data', ['data']],
    ['results.items', ['results', 'items']],
    ['$.response.data.calls', ['response', 'data', 'calls']],
    ["$['data']", ['data']],
    ["['data']", ['data']],
    ['$["odd.key"]', ['odd.key']],
    ["$['it\\'s']", ["it's"]],
    ["$.a['b c'].d", ['a', 'b c', 'd']],
    ['_links.@items-2', ['_links', '@items-2']],
    ['  data  ', ['data']],
  ];
  it.each(valid)('accepts %j', (selector, path) => {
    expect(parseDataSelector(selector)).toEqual(path);
  });

  const invalid: [string, RegExp][] = [
    ['', /empty/],
    ['data[*]', /wildcards/],
    ['data.*', /wildcards/],
    ['$..id', /recursive descent/],
    ['data[0]', /only quoted keys/],
    ['data[0:2]', /only quoted keys/],
    ['$[?(@.id)]', /only quoted keys/],
    ["$['a','b']", /expected "\]"/],
    ['$.', /expected a key name/],
    ['2xx', /expected a key name/],
    ["$['open", /unterminated/],
    ['$data', /unexpected "d"/],
  ];
  it.each(invalid)('refuses %j with a config error', (selector, reason) => {
    let failure: unknown;
    try {
      parseDataSelector(selector);
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(IngestError);
    expect(failure).toMatchObject({ category: 'config', code: 'INVALID_DATA_SELECTOR' });
    expect((failure as Error).message).toMatch(reason);
    expect((failure as Error).message).toContain(JSON.stringify(selector));
  });
});

describe('formatDataSelector', () => {
  it.each([
    [[], '$'],
    [['data'], '$.data'],
    [['a', 'b'], '$.a.b'],
    [['odd.key'], "$['odd.key']"],
    [["it's"], "$['it\\'s']"],
    [['2xx'], "$['2xx']"],
  ])('formats %j as %s, which parses back', (path, text) => {
    expect(formatDataSelector(path)).toBe(text);
    expect(parseDataSelector(text)).toEqual(path);
  });
});
