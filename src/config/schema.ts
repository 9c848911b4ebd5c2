/**
 * The source-file schema: one zod schema per part of dlt's `rest_api` dict (plus our additions) that is both the
 * TypeScript type (`*Config`) and the validator. Objects are built by `siteObject`, which reads the compatibility
 * matrix: an unknown key is an error with a "did you mean", a rejected key an error with its reason, an ignored key
 * accepted (the warning is added later, see `warnings.ts`). Templated strings are parsed here, so a malformed
 * template is reported with the schema errors. Cross-resource rules live in `analyse.ts`.
 */
import { z } from 'zod';
import {
  acceptedKeys,
  compatEntry,
  ignoredKeys,
  type CompatLookupSite,
  type CompatSite,
  type IgnoredKey,
} from './compat.ts';
import { didYouMean } from './problems.ts';
import { checkTemplate, type TemplateContext } from './templates.ts';

/** A deeply readonly view of a type, so `as const` objects satisfy the config types. */
export type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

const siteShapes = new Map<CompatLookupSite, Set<string>>();

/** The keys each site's schema declares (supported and extension keys), for the test that keeps them in sync. */
export function schemaSiteKeys(): ReadonlyMap<CompatLookupSite, ReadonlySet<string>> {
  return siteShapes;
}

/** Sites whose `type` may be left out: an unknown key there may just be a missing `type`. */
const implicitTypeHints: Partial<Record<CompatLookupSite, string>> = {
  'auth.bearer': ' (an auth object without type is a bearer auth)',
  'paginator.auto': ' (a paginator object without type is auto)',
};

function reportUnexpectedKeys(site: CompatLookupSite) {
  return (value: unknown, ctx: z.RefinementCtx): void => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
    const accepted = acceptedKeys(site);
    const implicit = Object.hasOwn(value, 'type') ? '' : (implicitTypeHints[site] ?? '');
    for (const key of Object.keys(value)) {
      const entry = compatEntry(site, key);
      // A site with no accepted key is rejected as a whole (by its `type`): its other keys need no report.
      if (entry === undefined && accepted.length > 0) {
        const hint = didYouMean(key, accepted);
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `unknown key${hint}${hint === '' ? `; expected one of: ${accepted.join(', ')}` : ''}${implicit}`,
        });
      } else if (entry?.status === 'rejected') {
        ctx.addIssue({ code: 'custom', path: [key], message: `not supported: ${entry.note}` });
      }
    }
  };
}

type IgnoredShape<S extends CompatSite> = { readonly [K in IgnoredKey<S>]: z.ZodOptional<z.ZodUnknown> };

/**
 * An object of one site of the compatibility matrix. At run time it is a loose object plus a key check that runs
 * even when a value inside is invalid, so every unknown or rejected key is reported with the other problems; its
 * type is the strict shape (ignored keys typed `unknown`), so a typo is also a TypeScript error.
 */
function siteObject<const S extends CompatSite, Shape extends z.ZodRawShape>(
  site: S,
  shape: Shape,
  lookup: CompatLookupSite = site,
): z.ZodObject<Shape & IgnoredShape<S>, z.core.$strip> {
  const known = siteShapes.get(lookup) ?? new Set<string>();
  for (const key of Object.keys(shape)) known.add(key);
  siteShapes.set(lookup, known);
  const ignored = Object.fromEntries(ignoredKeys(site).map((key) => [key, z.unknown().optional()]));
  const schema = z
    .looseObject({ ...shape, ...ignored })
    .superRefine(reportUnexpectedKeys(lookup), { when: () => true });
  // Typed as the strict shape: the loose runtime object never lets an unknown key through (the check above fails the
  // parse), so its output is exactly the strict shape's.
  return schema;
}

/** A string that may hold templates; the grammar and where each form is allowed are in `templates.ts`. */
function templated(context: TemplateContext) {
  return z.string().superRefine((value, ctx) => {
    for (const message of checkTemplate(value, context)) ctx.addIssue({ code: 'custom', message });
  });
}

const httpUrl = z.string().superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'expected an absolute http(s) URL' });
    return;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    ctx.addIssue({ code: 'custom', message: `expected an http(s) URL, got the scheme ${url.protocol}` });
  }
  if (url.username !== '' || url.password !== '') {
    ctx.addIssue({
      code: 'custom',
      message: 'credentials in a URL are not allowed: use `auth` with `{ $env: VAR }`',
    });
  }
  if (url.hash !== '') ctx.addIssue({ code: 'custom', message: 'a URL fragment (#…) is not allowed' });
});

// --- secrets ---------------------------------------------------------------------------------------------------

/** Environment variable names: upper case, digits and `_`. */
export const envVarNamePattern = /^[A-Z_][A-Z0-9_]*$/;

/** `{ $env: 'MESSAGING_API_KEY' }`: the value is read from that environment variable at run time only. */
export const secretRefSchema = siteObject('secret', {
  $env: z
    .string()
    .regex(envVarNamePattern, 'expected an environment variable name: upper-case letters, digits and _'),
});

const secretString = z.union([z.string().min(1), secretRefSchema], {
  error: 'expected a string or { $env: VARIABLE }',
});

// --- auth ------------------------------------------------------------------------------------------------------

/** Auth types (the string shorthands dlt accepts are the same names). */
export const authTypes = ['bearer', 'api_key', 'http_basic', 'oauth2_client_credentials'] as const;

/** `api_key` locations; dlt's `param` is a synonym of `query`. */
export const apiKeyLocations = ['header', 'query', 'cookie', 'param'] as const;

const authObjectSchema = z.discriminatedUnion(
  'type',
  [
    siteObject('auth.api_key', {
      type: z.literal('api_key'),
      name: z.string().min(1).optional(),
      api_key: secretString,
      location: z.enum(apiKeyLocations).optional(),
    }),
    siteObject('auth.bearer', { type: z.literal('bearer').optional(), token: secretString }),
    siteObject('auth.http_basic', {
      type: z.literal('http_basic'),
      username: secretString,
      password: secretString,
    }),
    siteObject('auth.oauth2_client_credentials', {
      type: z.literal('oauth2_client_credentials'),
      access_token_url: httpUrl,
      client_id: secretString,
      client_secret: secretString,
      access_token_request_data: z
        .record(z.string().min(1), z.union([z.string(), z.number(), z.boolean(), secretRefSchema]), {
          error: 'expected an object of form fields',
        })
        .optional(),
      default_token_expiration: z.number().int().positive().optional(),
    }),
  ],
  { error: 'expected an auth object' },
);

const authShorthandSchema = z.enum(authTypes).superRefine((value, ctx) => {
  if (value === 'oauth2_client_credentials') {
    ctx.addIssue({
      code: 'custom',
      message:
        'oauth2_client_credentials needs access_token_url, client_id and client_secret: write it as an object',
    });
  }
});

/** `auth`: a type name (credentials then come from `<SOURCE>_TOKEN`, … — see docs) or an object. */
export const authSchema = z.union([authShorthandSchema, authObjectSchema], {
  error: `expected an auth type (${authTypes.join(', ')}) or an auth object`,
});

// --- paginators ------------------------------------------------------------------------------------------------

/** Paginator types, as dlt names them. */
export const paginatorTypes = [
  'auto',
  'single_page',
  'json_link',
  'json_response',
  'header_link',
  'header_cursor',
  'offset',
  'page_number',
  'cursor',
] as const;

const maxPages = z.number().int().positive().optional();
const jsonPath = z.string().min(1);
const nonNegativeInt = z.number().int().nonnegative();

function requireStopCondition(maximumKey: 'maximum_offset' | 'maximum_page') {
  return (value: Record<string, unknown>, ctx: z.RefinementCtx): void => {
    if (
      value['total_path'] === null &&
      value[maximumKey] == null &&
      value['stop_after_empty_page'] === false
    ) {
      ctx.addIssue({
        code: 'custom',
        message: `one of total_path, ${maximumKey} or stop_after_empty_page must be set, or pagination never stops`,
      });
    }
  };
}

const paginatorObjectSchema = z.discriminatedUnion(
  'type',
  [
    siteObject('paginator.auto', { type: z.literal('auto').optional(), max_pages: maxPages }),
    siteObject('paginator.single_page', { type: z.literal('single_page') }),
    siteObject('paginator.json_link', {
      type: z.literal('json_link'),
      next_url_path: jsonPath.optional(),
      max_pages: maxPages,
    }),
    siteObject('paginator.json_response', {
      type: z.literal('json_response'),
      next_url_path: jsonPath.optional(),
      max_pages: maxPages,
    }),
    siteObject('paginator.header_link', {
      type: z.literal('header_link'),
      links_next_key: z.string().min(1).optional(),
      max_pages: maxPages,
    }),
    siteObject('paginator.header_cursor', {
      type: z.literal('header_cursor'),
      cursor_key: z.string().min(1).optional(),
      cursor_param: z.string().min(1).optional(),
      max_pages: maxPages,
    }),
    siteObject('paginator.offset', {
      type: z.literal('offset'),
      limit: z.number().int().positive(),
      offset: nonNegativeInt.optional(),
      offset_param: z.string().min(1).optional(),
      limit_param: z.string().min(1).optional(),
      total_path: jsonPath.nullable().optional(),
      maximum_offset: nonNegativeInt.nullable().optional(),
      stop_after_empty_page: z.boolean().optional(),
      max_pages: maxPages,
    }).superRefine(requireStopCondition('maximum_offset')),
    siteObject('paginator.page_number', {
      type: z.literal('page_number'),
      base_page: nonNegativeInt.optional(),
      page: nonNegativeInt.nullable().optional(),
      page_param: z.string().min(1).optional(),
      total_path: jsonPath.nullable().optional(),
      maximum_page: nonNegativeInt.nullable().optional(),
      stop_after_empty_page: z.boolean().optional(),
      max_pages: maxPages,
    }).superRefine(requireStopCondition('maximum_page')),
    siteObject('paginator.cursor', {
      type: z.literal('cursor'),
      cursor_path: jsonPath.optional(),
      cursor_param: z.string().min(1).nullable().optional(),
      cursor_body_path: jsonPath.nullable().optional(),
      max_pages: maxPages,
    }).superRefine((value, ctx) => {
      if (typeof value.cursor_param === 'string' && typeof value.cursor_body_path === 'string') {
        ctx.addIssue({ code: 'custom', message: 'set cursor_param or cursor_body_path, not both' });
      }
    }),
  ],
  { error: 'expected a paginator object' },
);

const paginatorShorthandSchema = z.enum(paginatorTypes).superRefine((value, ctx) => {
  if (value === 'offset') {
    ctx.addIssue({
      code: 'custom',
      message: 'offset needs a limit: write { type: offset, limit: <page size> }',
    });
  }
});

/** `paginator`: a type name (dlt's shorthand) or an object with `type` (absent: `auto`). */
export const paginatorSchema = z.union([paginatorShorthandSchema, paginatorObjectSchema], {
  error: `expected a paginator type (${paginatorTypes.join(', ')}) or a paginator object`,
});

// --- endpoint --------------------------------------------------------------------------------------------------

/** HTTP methods dlt's rest_api accepts. */
export const httpMethods = ['GET', 'POST'] as const;

const headerNamePattern = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const headerName = z.string().regex(headerNamePattern, 'expected an HTTP header name');

function headersSchema(context: 'header' | 'client-header') {
  return z.record(
    headerName,
    z.union([templated(context), secretRefSchema], { error: 'expected a string or { $env: VARIABLE }' }),
    { error: 'expected an object of header name → value' },
  );
}

const resolveParamSchema = siteObject('param.resolve', {
  type: z.literal('resolve'),
  resource: z.string().min(1),
  field: z.string().min(1),
});

const paramBindingSchema = z.discriminatedUnion(
  'type',
  [resolveParamSchema, siteObject('param.incremental', { type: z.literal('incremental') })],
  { error: 'expected { type: resolve, resource, field }' },
);

const listItem = z.union([z.string(), z.number(), z.boolean()], {
  error: 'expected a string, number or boolean',
});

const paramValueSchema = z.union(
  [
    templated('param'),
    z.number(),
    z.boolean(),
    z.null(),
    z.array(listItem).superRefine((items, ctx) => {
      items.forEach((item, index) => {
        if (typeof item === 'string' && /[{}]/.test(item)) {
          ctx.addIssue({
            code: 'custom',
            path: [index],
            message: 'templates are not supported in list values',
          });
        }
      });
    }),
    paramBindingSchema,
  ],
  {
    error: 'expected a string, number, boolean, null, a list of those, or { type: resolve, resource, field }',
  },
);

const jsonBodySchema = z
  .record(z.string(), z.json(), { error: 'expected a JSON object' })
  .superRefine((body, ctx) => {
    const visit = (value: unknown, path: (string | number)[]): void => {
      if (typeof value === 'string') {
        for (const message of checkTemplate(value, 'json')) ctx.addIssue({ code: 'custom', path, message });
      } else if (Array.isArray(value)) {
        value.forEach((item: unknown, index) => visit(item, [...path, index]));
      } else if (value !== null && typeof value === 'object') {
        for (const [key, item] of Object.entries(value)) visit(item, [...path, key]);
      }
    };
    visit(body, []);
  });

const responseActionSchema = siteObject('response_action', {
  status_code: z
    .union(
      [z.number().int().min(100).max(599), z.string().regex(/^[1-5][0-9]{2}$/, 'expected an HTTP status')],
      {
        error: 'expected an HTTP status code',
      },
    )
    .optional(),
  content: z.string().min(1).optional(),
  action: z.literal('ignore'),
}).superRefine((value, ctx) => {
  if (value.status_code === undefined && value.content === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: 'set status_code, content or both, or the action matches nothing',
    });
  }
});

/** `endpoint` written as an object. */
export const endpointObjectSchema = siteObject('endpoint', {
  path: templated('path').optional(),
  method: z.enum(httpMethods).optional(),
  params: z
    .record(z.string().min(1), paramValueSchema, { error: 'expected an object of parameter name → value' })
    .optional(),
  json: jsonBodySchema.optional(),
  paginator: paginatorSchema.optional(),
  data_selector: z.string().min(1).optional(),
  response_actions: z.array(responseActionSchema).optional(),
  auth: authSchema.optional(),
  headers: headersSchema('header').optional(),
});

/** `endpoint`: a path, or an object. */
export const endpointSchema = z.union([templated('path'), endpointObjectSchema], {
  error: 'expected a path or an endpoint object',
});

// --- resource --------------------------------------------------------------------------------------------------

/** Write dispositions. */
export const writeDispositions = ['merge', 'replace', 'append'] as const;

/** Strategies accepted per disposition (`scd2` is rejected with its own message). */
export const writeStrategies = {
  merge: ['upsert', 'delete-insert'],
  replace: ['truncate-and-insert', 'insert-from-staging', 'staging-optimized'],
  append: [],
} as const;

const writeDispositionObjectSchema = siteObject('write_disposition', {
  disposition: z.enum(writeDispositions),
  strategy: z.string().min(1).optional(),
}).superRefine((value, ctx) => {
  if (value.strategy === undefined) return;
  const allowed: readonly string[] = writeStrategies[value.disposition];
  if (value.disposition === 'merge' && value.strategy === 'scd2') {
    ctx.addIssue({
      code: 'custom',
      path: ['strategy'],
      message: 'not supported: the scd2 strategy is not implemented',
    });
  } else if (allowed.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['strategy'], message: `${value.disposition} takes no strategy` });
  } else if (!allowed.includes(value.strategy)) {
    ctx.addIssue({
      code: 'custom',
      path: ['strategy'],
      message: `expected one of: ${allowed.join(', ')}${didYouMean(value.strategy, allowed)}`,
    });
  }
});

/** Column data types (dlt's names). */
export const columnDataTypes = [
  'text',
  'double',
  'bool',
  'timestamp',
  'bigint',
  'binary',
  'json',
  'decimal',
  'wei',
  'date',
  'time',
] as const;

const columnHints = {
  data_type: z.enum(columnDataTypes).optional(),
  nullable: z.boolean().optional(),
  precision: z.number().int().positive().optional(),
  scale: z.number().int().nonnegative().optional(),
  timezone: z.boolean().optional(),
  primary_key: z.boolean().optional(),
  description: z.string().optional(),
};

const columnsSchema = z.union(
  [
    z.record(
      z.string().min(1),
      siteObject('column', { name: z.string().min(1).optional(), ...columnHints }),
      {
        error: 'expected an object of column name → hints',
      },
    ),
    z.array(siteObject('column', { name: z.string().min(1), ...columnHints })),
  ],
  { error: 'expected an object of column name → hints, or a list of { name, … }' },
);

const resourceShape = {
  endpoint: endpointSchema.optional(),
  primary_key: z
    .union([z.string().min(1), z.array(z.string().min(1)).min(1)], {
      error: 'expected a column name or a non-empty list of column names',
    })
    .optional(),
  write_disposition: z
    .union([z.enum(writeDispositions), writeDispositionObjectSchema], {
      error: `expected one of ${writeDispositions.join(', ')}, or { disposition, strategy }`,
    })
    .optional(),
  columns: columnsSchema.optional(),
  table_name: z.string().min(1).optional(),
  selected: z.boolean().optional(),
  deletion_detection: z.boolean().optional(),
};

/** A resource written as an object. */
export const resourceObjectSchema = siteObject('resource', { name: z.string().min(1), ...resourceShape });

/** `resource_defaults`: a resource without a name. */
export const resourceDefaultsSchema = siteObject('resource', resourceShape, 'resource_defaults');

// --- client and source -----------------------------------------------------------------------------------------

/** `client`. */
export const clientSchema = siteObject('client', {
  base_url: httpUrl.optional(),
  headers: headersSchema('client-header').optional(),
  auth: authSchema.optional(),
  paginator: paginatorSchema.optional(),
});

/** `retry`: the retry budget of the source's resources (ours). */
export const retrySchema = siteObject('retry', {
  max_attempts: z.number().int('expected a whole number').min(1).max(1000).optional(),
  initial_delay_seconds: z.number().positive('expected a number > 0').max(3600).optional(),
  max_delay_seconds: z.number().positive('expected a number > 0').max(86_400).optional(),
  retry_after_floor_seconds: z.number().min(0).max(3600).optional(),
  retry_after_ceiling_seconds: z.number().positive('expected a number > 0').max(86_400).optional(),
});

/** `rejected_records`: how long rejected records are kept (ours). */
export const rejectedRecordsSchema = siteObject('rejected_records', {
  retention_days: z.number().positive('expected a number of days > 0').max(36_500).optional(),
});

/** Source names: they prefix environment variables and name the Postgres schema. */
export const sourceNamePattern = /^[a-z][a-z0-9_]*$/;

/** Keys of the `config` block (they become parts of environment variable names). */
export const configKeyPattern = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A whole source file: dlt's `rest_api` dict (`client`, `resource_defaults`, `resources`) plus `name` and `config`. */
export const sourceConfigSchema = siteObject('source', {
  name: z
    .string()
    .max(63, 'at most 63 characters')
    .regex(sourceNamePattern, 'expected a lower-case identifier: a-z, then a-z, 0-9 or _'),
  config: z
    .record(
      z.string().regex(configKeyPattern, 'expected an identifier: letters, digits and _'),
      z.union([z.string(), z.number(), z.boolean(), z.null()], {
        error: 'expected a string, number, boolean or null (unset)',
      }),
      { error: 'expected an object of name → value' },
    )
    .optional(),
  retry: retrySchema.optional(),
  rejected_records: rejectedRecordsSchema.optional(),
  client: clientSchema,
  resource_defaults: resourceDefaultsSchema.optional(),
  resources: z
    .array(
      z.union([templated('path').min(1), resourceObjectSchema], {
        error: 'expected a resource object or a string (its name and path)',
      }),
    )
    .min(1),
});

/** A source file, as written (YAML, JSON or a TS module's `source` export). */
export type SourceConfig = DeepReadonly<z.input<typeof sourceConfigSchema>>;
/** `client`. */
export type ClientConfig = SourceConfig['client'];
/** A resource written as an object. */
export type ResourceConfig = DeepReadonly<z.input<typeof resourceObjectSchema>>;
/** A resource: an object, or a string that is both its name and its path. */
export type ResourceEntryConfig = SourceConfig['resources'][number];
/** `resource_defaults`. */
export type ResourceDefaultsConfig = DeepReadonly<z.input<typeof resourceDefaultsSchema>>;
/** `endpoint` written as an object. */
export type EndpointConfig = DeepReadonly<z.input<typeof endpointObjectSchema>>;
/** `auth`. */
export type AuthConfig = DeepReadonly<z.input<typeof authSchema>>;
/** `paginator`. */
export type PaginatorConfig = DeepReadonly<z.input<typeof paginatorSchema>>;
/** A query parameter value. */
export type ParamValueConfig = DeepReadonly<z.input<typeof paramValueSchema>>;
/** `{ type: resolve, resource, field }`. */
export type ResolveParamConfig = DeepReadonly<z.input<typeof resolveParamSchema>>;
/** `write_disposition`. */
export type WriteDispositionConfig = NonNullable<ResourceConfig['write_disposition']>;
/** `columns`. */
export type ColumnsConfig = NonNullable<ResourceConfig['columns']>;
/** `{ $env: NAME }`. */
export type SecretRefConfig = DeepReadonly<z.input<typeof secretRefSchema>>;
/** A credential: literal text (warned) or `{ $env: NAME }`. */
export type SecretStringConfig = DeepReadonly<z.input<typeof secretString>>;
/** The values of the `config` block. */
export type ConfigValue = string | number | boolean | null;
