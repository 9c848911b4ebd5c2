import { describe, expect, it } from 'vitest';
import {
  checkTemplate,
  isSingleEntityPath,
  parseTemplate,
  templateGrammar,
  type TemplateContext,
  type TemplateToken,
} from '../../../src/config/templates.ts';

const expressions = (text: string) => {
  const parsed = parseTemplate(text);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.tokens
    .filter((token): token is Extract<TemplateToken, { kind: 'expression' }> => token.kind === 'expression')
    .map((token) => token.expression);
};

describe('the template grammar', () => {
  const valid: [string, unknown][] = [
    ["{{ config['to'] }}", { kind: 'config', key: 'to', fallback: undefined }],
    ['{{config["to"]}}', { kind: 'config', key: 'to', fallback: undefined }],
    ["{{ config['message'] or ''}}", { kind: 'config', key: 'message', fallback: '' }],
    [
      '{{ config["message"] or "hello, world" }}',
      { kind: 'config', key: 'message', fallback: 'hello, world' },
    ],
    ["{{ config['x'] or '}}' }}", { kind: 'config', key: 'x', fallback: '}}' }],
    ['{{ stream_slice.requestId }}', { kind: 'stream_slice', name: 'requestId' }],
    ['{resources.sms.requestId}', { kind: 'resource_field', resource: 'sms', field: 'requestId' }],
    ['{resources.issues.user.id}', { kind: 'resource_field', resource: 'issues', field: 'user.id' }],
    ['{requestId}', { kind: 'resolve_param', name: 'requestId' }],
    ['{incremental.start_value}', { kind: 'incremental', value: 'start_value' }],
    ['{ incremental.end_value }', { kind: 'incremental', value: 'end_value' }],
    ['{{ incremental.start_value }}', { kind: 'incremental', value: 'start_value' }],
    ['{{incremental.end_value}}', { kind: 'incremental', value: 'end_value' }],
  ];
  it.each(valid)('parses %s', (text, expected) => {
    expect(expressions(text)).toEqual([expected]);
  });

  it('keeps the text around expressions', () => {
    const parsed = parseTemplate("/a/{{ config['x'] }}/b?c");
    expect(parsed).toEqual({
      ok: true,
      tokens: [
        { kind: 'text', text: '/a/' },
        {
          kind: 'expression',
          expression: { kind: 'config', key: 'x', fallback: undefined },
          source: "{{ config['x'] }}",
        },
        { kind: 'text', text: '/b?c' },
      ],
    });
  });

  it('parses every example of the documented grammar as its kind', () => {
    for (const row of templateGrammar)
      expect(expressions(row.example).map((expression) => expression.kind)).toEqual([row.kind]);
  });

  const malformed: [string, string][] = [
    [
      '{{ config.to }}',
      "unknown template expression {{ config.to }}: expected one of config['name'], config['name'] or 'text', stream_slice.name, incremental.start_value",
    ],
    [
      "{{ config['to'] | default('x') }}",
      "unknown template expression {{ config['to'] | default('x') }}: expected one of config['name'], config['name'] or 'text', stream_slice.name, incremental.start_value",
    ],
    [
      '{{ stream_slise.id }}',
      "unknown template expression {{ stream_slise.id }}: expected one of config['name'], config['name'] or 'text', stream_slice.name, incremental.start_value",
    ],
    [
      "{{ config['to'] or other }}",
      "unknown template expression {{ config['to'] or other }}: expected one of config['name'], config['name'] or 'text', stream_slice.name, incremental.start_value",
    ],
    [
      "{{ config['a-b'] }}",
      "unknown template expression {{ config['a-b'] }}: expected one of config['name'], config['name'] or 'text', stream_slice.name, incremental.start_value",
    ],
    [
      '{{ __import__("os") }}',
      "unknown template expression {{ __import__(\"os\") }}: expected one of config['name'], config['name'] or 'text', stream_slice.name, incremental.start_value",
    ],
    ["/a/{{ config['to'] ", 'unclosed "{{" in "{{ config[\'to\'] "'],
    ['/a/{id', 'unclosed "{" in "{id" (literal braces are not supported in templated values)'],
    ['/a/{x{y}}', 'unclosed "{" in "{x{y}}" (literal braces are not supported in templated values)'],
    ['a}b', 'unmatched "}" in "a}b" (literal braces are not supported in templated values)'],
    ['{resources.sms}', 'malformed placeholder {resources.sms}: expected {resources.<parent>.<field>}'],
    ['{resources.sms.}', 'malformed placeholder {resources.sms.}: expected {resources.<parent>.<field>}'],
    [
      '{incremental.last_value}',
      'unknown incremental placeholder {incremental.last_value}: expected incremental.start_value or incremental.end_value',
    ],
    [
      '{{ incremental.start }}',
      'unknown incremental placeholder {{ incremental.start }}: expected incremental.start_value or incremental.end_value',
    ],
    [
      '{id!r}',
      'unknown placeholder {id!r}: expected resources.<parent>.<field>, incremental.start_value, incremental.end_value or a resolve param name',
    ],
    [
      '{}',
      'unknown placeholder {}: expected resources.<parent>.<field>, incremental.start_value, incremental.end_value or a resolve param name',
    ],
  ];
  it.each(malformed)('rejects %s', (text, message) => {
    expect(parseTemplate(text)).toEqual({ ok: false, message });
  });

  const placement: [string, TemplateContext, string[]][] = [
    ['{id}', 'path', []],
    [
      '{id}',
      'param',
      [
        '{id} is not allowed in a query parameter: dlt binds {name} placeholders in paths only; use {resources.<parent>.<field>} or {{ stream_slice.<name> }}',
      ],
    ],
    ['{resources.p.id}', 'json', []],
    ['{{ stream_slice.id }}', 'header', []],
    ["{{ config['a'] }}", 'client-header', []],
    ['{incremental.start_value}', 'path', []],
    ['{incremental.start_value}', 'param', []],
    ['{{ incremental.end_value }}', 'json', []],
    [
      '{incremental.start_value}',
      'header',
      [
        '{incremental.start_value} is not allowed in an endpoint header: the incremental window goes in a path, a query parameter or the JSON body (as in dlt)',
      ],
    ],
    [
      '{incremental.end_value}',
      'client-header',
      [
        '{incremental.end_value} is not allowed in client.headers: the incremental window goes in a path, a query parameter or the JSON body (as in dlt)',
      ],
    ],
    [
      '{resources.p.id}',
      'client-header',
      [
        '{resources.p.id} is not allowed in client.headers: only config values are (a client header is shared by resources with and without parents)',
      ],
    ],
  ];
  it.each(placement)('%s in %s', (text, context, problems) => {
    expect(checkTemplate(text, context)).toEqual(problems);
  });

  it('recognises single-entity paths (dlt: the last segment is one placeholder)', () => {
    expect(isSingleEntityPath('/messages/{{ stream_slice.requestId }}')).toBe(true);
    expect(isSingleEntityPath('/issues/{number}/')).toBe(true);
    expect(isSingleEntityPath('/issues/{number}/comments')).toBe(false);
    expect(isSingleEntityPath('/issues/n{number}')).toBe(false);
    expect(isSingleEntityPath('/issues')).toBe(false);
  });

  it('does not count an incremental placeholder as an entity', () => {
    expect(isSingleEntityPath('/events/since/{incremental.start_value}')).toBe(false);
    expect(isSingleEntityPath('/events/{{ incremental.start_value }}/')).toBe(false);
  });
});
