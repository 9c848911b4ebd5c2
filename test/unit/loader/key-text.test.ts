import { describe, expect, it } from 'vitest';
import { numericText } from '../../../src/db/tables/key-text.ts';

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
