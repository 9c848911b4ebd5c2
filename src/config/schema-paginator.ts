/**
 * `paginator`: dlt's paginators, as a type name or an object with `type`, with the combinations that could never
 * stop refused.
 */
import { z } from 'zod';
import { siteObject } from './schema-site.ts';

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

/**
 * dlt's rules of the range paginators: a stop condition (`total_path` defaults to `total`, so only an explicit
 * `null` removes it), and each value sent either as a query parameter or at a JSON body path, not both.
 */
function rangeRules(
  maximumKey: 'maximum_offset' | 'maximum_page',
  pairs: readonly (readonly [string, string])[],
) {
  return (value: Record<string, unknown>, ctx: z.RefinementCtx): void => {
    if (
      value['total_path'] === null &&
      value[maximumKey] == null &&
      value['has_more_path'] == null &&
      value['stop_after_empty_page'] === false
    ) {
      ctx.addIssue({
        code: 'custom',
        message: `one of total_path, ${maximumKey}, has_more_path or stop_after_empty_page must be set, or pagination never stops`,
      });
    }
    for (const [param, bodyPath] of pairs) {
      if (typeof value[param] === 'string' && typeof value[bodyPath] === 'string') {
        ctx.addIssue({ code: 'custom', message: `set ${param} or ${bodyPath}, not both` });
      }
    }
  };
}

/** A place in a JSON body: a dotted path of object keys (`pagination.offset`; a leading `$.` is allowed). */
const bodyPath = z
  .string()
  .regex(
    /^(?:\$\.)?[^.\s[\]$*]+(?:\.[^.\s[\]$*]+)*$/,
    'expected a dotted path of JSON object keys (`pagination.offset`)',
  );

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
      offset_param: z.string().min(1).nullable().optional(),
      offset_body_path: bodyPath.nullable().optional(),
      limit_param: z.string().min(1).nullable().optional(),
      limit_body_path: bodyPath.nullable().optional(),
      total_path: jsonPath.nullable().optional(),
      maximum_offset: nonNegativeInt.nullable().optional(),
      has_more_path: jsonPath.nullable().optional(),
      stop_after_empty_page: z.boolean().optional(),
      max_pages: maxPages,
    }).superRefine(
      rangeRules('maximum_offset', [
        ['offset_param', 'offset_body_path'],
        ['limit_param', 'limit_body_path'],
      ]),
    ),
    siteObject('paginator.page_number', {
      type: z.literal('page_number'),
      base_page: nonNegativeInt.optional(),
      page: nonNegativeInt.nullable().optional(),
      page_param: z.string().min(1).nullable().optional(),
      page_body_path: bodyPath.nullable().optional(),
      total_path: jsonPath.nullable().optional(),
      maximum_page: nonNegativeInt.nullable().optional(),
      has_more_path: jsonPath.nullable().optional(),
      stop_after_empty_page: z.boolean().optional(),
      max_pages: maxPages,
    }).superRefine(rangeRules('maximum_page', [['page_param', 'page_body_path']])),
    siteObject('paginator.cursor', {
      type: z.literal('cursor'),
      cursor_path: jsonPath.optional(),
      cursor_param: z.string().min(1).nullable().optional(),
      cursor_body_path: bodyPath.nullable().optional(),
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
