/**
 * A resource, and `resource_defaults`: its endpoint, primary key, write disposition, columns, table, the parent
 * fields it copies (`include_from_parent`), and our `side_effects` and `poll` (a resource's own: `resource_defaults`
 * cannot set them).
 */
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

/** A field of a record: a name, or a dotted path (`user.id`) with no empty part. */
export const fieldPath = z
  .string()
  .regex(/^[^.]+(\.[^.]+)*$/, 'expected a field name or a dotted path (`user.id`) without empty parts');

/** Values `poll.final` may list. */
const pollValue = z.union([z.string(), z.number(), z.boolean()], {
  error: 'expected a string, number or boolean',
});

/** `poll` (ours): fetch a child again until a field of its records reaches a final value. */
export const pollSchema = siteObject('poll', {
  field: fieldPath,
  final: z.array(pollValue, { error: 'expected a list of values' }).min(1),
  interval_seconds: z.number().positive().optional(),
  run_for_seconds: z.number().min(0).optional(),
  max_age_seconds: z.number().positive().optional(),
});

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
  include_from_parent: z
    .array(fieldPath, { error: 'expected a list of parent field names' })
    .superRefine((fields, ctx) => {
      fields.forEach((field, index) => {
        if (fields.indexOf(field) !== index)
          ctx.addIssue({ code: 'custom', path: [index], message: 'listed twice' });
      });
    })
    .optional(),
};

/** Keys of a resource that `resource_defaults` cannot set. */
const ownShape = {
  side_effects: z.boolean().optional(),
  poll: pollSchema.optional(),
};

/** A resource written as an object. */
export const resourceObjectSchema = siteObject('resource', {
  name: z.string().min(1),
  ...resourceShape,
  ...ownShape,
});

/** `resource_defaults`: a resource without a name. */
export const resourceDefaultsSchema = siteObject('resource', resourceShape, 'resource_defaults');
