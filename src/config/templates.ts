/**
 * The template grammar of source files: the Airbyte-style `{{ … }}` expressions the seeds use and dlt's `{…}`
 * placeholders, read by one tokenizer and a parser made of fixed patterns — no `eval`, no `Function`, nothing is
 * executed. Anything outside the grammar (including a stray brace) is a parse error naming the offending text.
 * Evaluation lives elsewhere: config values are bound when a source is resolved, parent fields and the incremental
 * window when a request is rendered.
 */

/** Where a templated string sits: it decides which expressions are allowed. */
export const templateContexts = ['path', 'param', 'json', 'header', 'client-header'] as const;

export type TemplateContext = (typeof templateContexts)[number];

/** One parsed expression. */
export type TemplateExpression =
  /** `{{ config['key'] }}` or, with `fallback`, `{{ config['key'] or 'text' }}`. */
  | { readonly kind: 'config'; readonly key: string; readonly fallback: string | undefined }
  /** `{{ stream_slice.name }}`: the value of the endpoint's resolve param `name`, taken from a parent record. */
  | { readonly kind: 'stream_slice'; readonly name: string }
  /** `{resources.parent.field}`: the field (a dotted path) of each record of the parent resource. */
  | { readonly kind: 'resource_field'; readonly resource: string; readonly field: string }
  /** `{name}` in a path: dlt's binding of the endpoint's resolve param `name`. */
  | { readonly kind: 'resolve_param'; readonly name: string }
  /** `{incremental.start_value}` (also `{{ incremental.start_value }}`): the start or end of the run's window. */
  | { readonly kind: 'incremental'; readonly value: 'start_value' | 'end_value' };

export type TemplateToken =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'expression'; readonly expression: TemplateExpression; readonly source: string };

export type TemplateParseResult =
  | { readonly ok: true; readonly tokens: readonly TemplateToken[] }
  | { readonly ok: false; readonly message: string };

/** The grammar, one row per form, as shown in docs/config.md (a test checks the docs carry this table). */
export const templateGrammar = [
  {
    form: '`{{ config[\'name\'] }}` (or `config["name"]`)',
    example: "{{ config['to'] }}",
    kind: 'config',
    allowedIn: 'path, params, json, headers, client.headers',
    meaning:
      'the config value `name` (`config` block, overridden by `<SOURCE>_CONFIG_<NAME>`); unset or empty: the resource is skipped',
  },
  {
    form: "`{{ config['name'] or 'text' }}` (or `\"text\"`)",
    example: "{{ config['message'] or ''}}",
    kind: 'config',
    allowedIn: 'path, params, json, headers, client.headers',
    meaning:
      'the config value, or the text when it is unset or empty; a query parameter that ends up empty is left out',
  },
  {
    form: '`{{ stream_slice.name }}`',
    example: '{{ stream_slice.project_id }}',
    kind: 'stream_slice',
    allowedIn: 'path, params, json, headers',
    meaning:
      'the endpoint\u2019s resolve param `name` (`params.name: { type: resolve, resource, field }`): the field of each parent record',
  },
  {
    form: '`{resources.parent.field}`',
    example: '{resources.projects.id}',
    kind: 'resource_field',
    allowedIn: 'path, params, json, headers',
    meaning: 'the field (a dotted path) of each record of the resource `parent` (dlt)',
  },
  {
    form: '`{name}`',
    example: '{project_id}',
    kind: 'resolve_param',
    allowedIn: 'path',
    meaning: 'the endpoint\u2019s resolve param `name` (dlt)',
  },
  {
    form: '`{incremental.start_value}`, `{incremental.end_value}` (also `{{ incremental.start_value }}`)',
    example: '{incremental.start_value}',
    kind: 'incremental',
    allowedIn: 'path, params, json',
    meaning:
      'the start or end of the run\u2019s incremental window (needs `endpoint.incremental` or an incremental param); a whole JSON string keeps the value\u2019s type; no value: the query parameter is left out, `null` in JSON, an error in a path',
  },
] as const;

/** The grammar table of docs/config.md (between the `templates` markers), generated from `templateGrammar`. */
export function renderTemplateGrammarMarkdown(): string {
  const rows = templateGrammar.map(
    (row) => `| ${row.form} | \`${row.example}\` | ${row.allowedIn} | ${row.meaning} |`,
  );
  return ['| form | example | allowed in | value |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

const configKeyPattern = '[A-Za-z_][A-Za-z0-9_]*';
const configPattern = new RegExp(
  `^config\\s*\\[\\s*(?:'(${configKeyPattern})'|"(${configKeyPattern})")\\s*\\](?:\\s+or\\s+(?:'([^']*)'|"([^"]*)"))?$`,
);
const streamSlicePattern = /^stream_slice\.([A-Za-z_][A-Za-z0-9_]*)$/;
const resourceFieldPattern = /^resources\.([^.\s{}]+)\.([^.\s{}]+(?:\.[^.\s{}]+)*)$/;
const resolveParamPattern = /^[A-Za-z_][A-Za-z0-9_]*$/;
const incrementalPattern = /^incremental\.(start_value|end_value)$/;

const jinjaForms = "config['name'], config['name'] or 'text', stream_slice.name, incremental.start_value";
const dltForms =
  'resources.<parent>.<field>, incremental.start_value, incremental.end_value or a resolve param name';

/** `incremental.start_value` / `incremental.end_value`, a malformed `incremental.…` (a message), or undefined. */
function parseIncremental(body: string, source: string): TemplateExpression | string | undefined {
  const match = incrementalPattern.exec(body);
  if (match !== null)
    return { kind: 'incremental', value: match[1] === 'end_value' ? 'end_value' : 'start_value' };
  if (body.startsWith('incremental.') || body === 'incremental') {
    return `unknown incremental placeholder ${source}: expected incremental.start_value or incremental.end_value`;
  }
  return undefined;
}

function parseJinja(inner: string, source: string): TemplateExpression | string {
  const body = inner.trim();
  const config = configPattern.exec(body);
  if (config !== null) {
    const key = config[1] ?? config[2] ?? '';
    const fallback = config[3] ?? config[4];
    return { kind: 'config', key, fallback };
  }
  const slice = streamSlicePattern.exec(body);
  if (slice !== null) return { kind: 'stream_slice', name: slice[1] ?? '' };
  const incremental = parseIncremental(body, source);
  if (incremental !== undefined) return incremental;
  return `unknown template expression ${source}: expected one of ${jinjaForms}`;
}

function parseDlt(inner: string, source: string): TemplateExpression | string {
  const body = inner.trim();
  const incremental = parseIncremental(body, source);
  if (incremental !== undefined) return incremental;
  const field = resourceFieldPattern.exec(body);
  if (field !== null) return { kind: 'resource_field', resource: field[1] ?? '', field: field[2] ?? '' };
  if (body.startsWith('resources.')) {
    return `malformed placeholder ${source}: expected {resources.<parent>.<field>}`;
  }
  if (resolveParamPattern.test(body)) return { kind: 'resolve_param', name: body };
  return `unknown placeholder ${source}: expected ${dltForms}`;
}

/** Finds the `}}` closing a `{{` at `start`, skipping quoted text; -1 if there is none. */
function findJinjaEnd(text: string, start: number): number {
  let quote: string | undefined;
  for (let index = start; index < text.length; index += 1) {
    const char = text[index];
    if (quote !== undefined) {
      if (char === quote) quote = undefined;
    } else if (char === "'" || char === '"') {
      quote = char;
    } else if (char === '}' && text[index + 1] === '}') {
      return index;
    }
  }
  return -1;
}

function excerpt(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text);
}

/** Splits a templated string into text and expressions, or says what is wrong (with the offending text). */
export function parseTemplate(text: string): TemplateParseResult {
  const tokens: TemplateToken[] = [];
  let literal = '';
  let index = 0;
  const flush = (): void => {
    if (literal !== '') tokens.push({ kind: 'text', text: literal });
    literal = '';
  };
  while (index < text.length) {
    const char = text[index] ?? '';
    if (char === '{' && text[index + 1] === '{') {
      const end = findJinjaEnd(text, index + 2);
      if (end < 0) return { ok: false, message: `unclosed "{{" in ${excerpt(text.slice(index))}` };
      const source = text.slice(index, end + 2);
      const parsed = parseJinja(text.slice(index + 2, end), source);
      if (typeof parsed === 'string') return { ok: false, message: parsed };
      flush();
      tokens.push({ kind: 'expression', expression: parsed, source });
      index = end + 2;
    } else if (char === '{') {
      const end = text.indexOf('}', index + 1);
      const nextOpen = text.indexOf('{', index + 1);
      if (end < 0 || (nextOpen >= 0 && nextOpen < end)) {
        return {
          ok: false,
          message: `unclosed "{" in ${excerpt(text.slice(index))} (literal braces are not supported in templated values)`,
        };
      }
      const source = text.slice(index, end + 1);
      const parsed = parseDlt(text.slice(index + 1, end), source);
      if (typeof parsed === 'string') return { ok: false, message: parsed };
      flush();
      tokens.push({ kind: 'expression', expression: parsed, source });
      index = end + 1;
    } else if (char === '}') {
      return {
        ok: false,
        message: `unmatched "}" in ${excerpt(text)} (literal braces are not supported in templated values)`,
      };
    } else {
      literal += char;
      index += 1;
    }
  }
  flush();
  return { ok: true, tokens };
}

const allowedKinds: Readonly<Record<TemplateContext, readonly TemplateExpression['kind'][]>> = {
  path: ['config', 'stream_slice', 'resource_field', 'resolve_param', 'incremental'],
  param: ['config', 'stream_slice', 'resource_field', 'incremental'],
  json: ['config', 'stream_slice', 'resource_field', 'incremental'],
  header: ['config', 'stream_slice', 'resource_field'],
  'client-header': ['config'],
};

const contextNames: Readonly<Record<TemplateContext, string>> = {
  path: 'a path',
  param: 'a query parameter',
  json: 'a JSON body',
  header: 'an endpoint header',
  'client-header': 'client.headers',
};

function placementProblem(
  source: string,
  kind: TemplateExpression['kind'],
  context: TemplateContext,
): string {
  const where = contextNames[context];
  if (kind === 'resolve_param') {
    return `${source} is not allowed in ${where}: dlt binds {name} placeholders in paths only; use {resources.<parent>.<field>} or {{ stream_slice.<name> }}`;
  }
  if (kind === 'incremental') {
    return `${source} is not allowed in ${where}: the incremental window goes in a path, a query parameter or the JSON body (as in dlt)`;
  }
  return `${source} is not allowed in ${where}: only config values are (a client header is shared by resources with and without parents)`;
}

/**
 * Parses `text` and checks every expression is allowed where it sits: one message per problem (empty when fine).
 */
export function checkTemplate(text: string, context: TemplateContext): readonly string[] {
  const parsed = parseTemplate(text);
  if (!parsed.ok) return [parsed.message];
  const problems: string[] = [];
  for (const token of parsed.tokens) {
    if (token.kind !== 'expression') continue;
    if (allowedKinds[context].includes(token.expression.kind)) continue;
    problems.push(placementProblem(token.source, token.expression.kind, context));
  }
  return problems;
}

/**
 * dlt's single-entity rule: a path whose last segment is one placeholder (`/messages/{{ stream_slice.id }}`)
 * returns one record, so its paginator defaults to `single_page` and its data selector to `$`. An incremental
 * placeholder (`/events/since/{incremental.start_value}`) names a window, not an entity: it does not count.
 */
export function isSingleEntityPath(path: string): boolean {
  const parsed = parseTemplate(path.replace(/\/+$/, ''));
  if (!parsed.ok) return false;
  const last = parsed.tokens.at(-1);
  if (last?.kind !== 'expression' || last.expression.kind === 'incremental') return false;
  const before = parsed.tokens.at(-2);
  return before === undefined || (before.kind === 'text' && before.text.endsWith('/'));
}
