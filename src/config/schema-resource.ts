/** A resource, and `resource_defaults`: its endpoint, primary key, write disposition, columns and table. */
import { z } from 'zod';
import { didYouMean } from './problems.ts';
import { endpointSchema } from './schema-endpoint.ts';
import { siteObject } from './schema-site.ts';

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
