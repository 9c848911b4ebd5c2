/** Redaction of URLs and text: credential parameters by name, known secrets by value in every wire form. */
import { describe, expect, it } from 'vitest';
import { createRedactor } from '../../../src/http/redact.ts';

const secret = 'p@ss w+rd/"x"';

describe('createRedactor', () => {
  const redactor = createRedactor([secret], [`user:${secret}`]);

  it.each([
    [
      'a credential parameter by name',
      'https://h/x?api_key=abc&page=2',
      'https://h/x?api_key=REDACTED&page=2',
    ],
    ['a token parameter', 'https://h/x?access_token=abc', 'https://h/x?access_token=REDACTED'],
    [
      'any parameter holding the secret',
      `https://h/x?k=${encodeURIComponent(secret)}`,
      'https://h/x?k=REDACTED',
    ],
    [
      'the secret form-encoded',
      `https://h/x?k=${new URLSearchParams({ a: secret }).toString().slice(2)}`,
      'https://h/x?k=REDACTED',
    ],
    ['the fragment dropped', 'https://h/x?a=1#token=abc', 'https://h/x?a=1'],
    ['no query', 'https://h/x', 'https://h/x'],
  ])('url: %s', (_label, input, expected) => {
    expect(redactor.url(input)).toBe(expected);
  });

  it.each([
    ['as is', `key is ${secret}.`],
    ['URL-encoded', `GET /x?k=${encodeURIComponent(secret)}`],
    ['JSON-escaped', JSON.stringify({ echo: secret })],
    ['in a basic header', `Basic ${Buffer.from(`user:${secret}`).toString('base64')}`],
  ])('text: the secret %s', (_label, input) => {
    const out = redactor.text(input);
    expect(out).toContain('REDACTED');
    expect(out).not.toContain(secret);
    expect(out).not.toContain(encodeURIComponent(secret));
  });

  it('leaves text without secrets alone', () => {
    expect(redactor.text('nothing to see')).toBe('nothing to see');
  });
});
