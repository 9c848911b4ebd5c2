/**
 * dlt's `incremental` as a source file writes it: `endpoint.incremental` (with `start_param`/`end_param`) and a
 * query parameter `{ type: incremental, … }` share dlt's `IncrementalArgs` keys. Callables and the keys that steer
 * dlt's own extraction (`convert`, `row_order`, `allow_external_schedulers`) are refused by the compatibility
 * matrix; the rules across keys of a resource live in `incremental.ts`.
 */
import { z } from 'zod';
import { normaliseCursorPath } from './data-selector.ts';
import { siteObject } from './schema-site.ts';

/** A cursor value as written: a timestamp (or any text the API compares) or a number. */
export const cursorValueSchema = z.union([z.string().min(1), z.number()], {
  error: 'expected a timestamp (text) or a number',
});

const cursorPathSchema = z.string().superRefine((value, ctx) => {
  const checked = normaliseCursorPath(value);
  if (!checked.ok) ctx.addIssue({ code: 'custom', message: checked.reason });
});

const queryParamName = z.string().min(1);

/** The keys of dlt's `IncrementalArgs` that a source file may set. */
const incrementalArgs = {
  cursor_path: cursorPathSchema,
  initial_value: cursorValueSchema.nullable().optional(),
  end_value: cursorValueSchema.nullable().optional(),
  lag: z.number().nonnegative().nullable().optional(),
  range_start: z.enum(['open', 'closed']).optional(),
  range_end: z.enum(['open', 'closed']).optional(),
  on_cursor_value_missing: z.enum(['raise', 'include', 'exclude']).optional(),
  last_value_func: z
    .string()
    .superRefine((value, ctx) => {
      if (value !== 'max') {
        ctx.addIssue({
          code: 'custom',
          message: 'only max (the default) is supported: the cursor advances to the largest value loaded',
        });
      }
    })
    .optional(),
};

/** `endpoint.incremental`. */
export const incrementalSchema = siteObject('incremental', {
  start_param: queryParamName.nullable().optional(),
  end_param: queryParamName.nullable().optional(),
  ...incrementalArgs,
});

/** `params.<name>: { type: incremental, cursor_path, … }`: the param receives the window's start. */
export const incrementalParamSchema = siteObject('param.incremental', {
  type: z.literal('incremental'),
  ...incrementalArgs,
});
