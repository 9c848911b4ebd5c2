/**
 * The source-file schema: one zod schema per part of dlt's `rest_api` dict (plus our additions) that is both the
 * TypeScript type (`*Config`) and the validator. The parts are in `schema-auth.ts`, `schema-paginator.ts`,
 * `schema-incremental.ts`, `schema-endpoint.ts` and `schema-resource.ts`, built from `schema-site.ts`; this module puts the source together
 * and names the types. Cross-resource rules live in `analyse.ts`.
 */
import { z } from 'zod';
import type { CompatLookupSite } from './compat.ts';
import { authSchema } from './schema-auth.ts';
import type { incrementalParamSchema, incrementalSchema } from './schema-incremental.ts';
import {
  headersSchema,
  type endpointObjectSchema,
  type paramValueSchema,
  type resolveParamSchema,
} from './schema-endpoint.ts';
import { paginatorSchema } from './schema-paginator.ts';
import { resourceDefaultsSchema, resourceObjectSchema } from './schema-resource.ts';
import { scheduleSchema } from './schedule.ts';
import {
  httpUrl,
  registeredSiteKeys,
  siteObject,
  templated,
  type DeepReadonly,
  type secretString,
} from './schema-site.ts';

/**
 * The keys each site's schema declares (supported and extension keys), for the test that keeps them in sync with
 * the compatibility matrix. Every part is imported here, so every site is registered.
 */
export function schemaSiteKeys(): ReadonlyMap<CompatLookupSite, ReadonlySet<string>> {
  return registeredSiteKeys();
}

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

/**
 * A whole source file: dlt's `rest_api` dict (`client`, `resource_defaults`, `resources`) plus our `name`, `config`,
 * `retry`, `rejected_records` and `schedule`.
 */
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
  schedule: scheduleSchema.optional(),
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
/** `{ type: incremental, cursor_path, … }`. */
export type IncrementalParamConfig = DeepReadonly<z.input<typeof incrementalParamSchema>>;
/** `endpoint.incremental`. */
export type IncrementalConfig = DeepReadonly<z.input<typeof incrementalSchema>>;
/** `columns`. */
export type ColumnsConfig = NonNullable<ResourceConfig['columns']>;
/** A credential: literal text (warned) or `{ $env: NAME }`. */
export type SecretStringConfig = DeepReadonly<z.input<typeof secretString>>;
/** The values of the `config` block. */
export type ConfigValue = string | number | boolean | null;
