/**
 * `endpoint`: a path, or an object with the method, query parameters (with dlt's `resolve` parent bindings and
 * `incremental` params), JSON body, headers, paginator, data selector, response actions, auth and `incremental`.
 */
import { z } from 'zod';
import { normaliseDataSelector } from './data-selector.ts';
import { authSchema } from './schema-auth.ts';
import { incrementalParamSchema, incrementalSchema } from './schema-incremental.ts';
import { paginatorSchema } from './schema-paginator.ts';
import { secretRefSchema, siteObject, templated } from './schema-site.ts';
import { checkTemplate } from './templates.ts';

/** HTTP methods dlt's rest_api accepts. */
export const httpMethods = ['GET', 'POST'] as const;

const headerNamePattern = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const headerName = z.string().regex(headerNamePattern, 'expected an HTTP header name');

/** Headers: name → templated value or `{ $env }` (a client's headers may not use parent references). */
export function headersSchema(context: 'header' | 'client-header') {
  return z.record(
    headerName,
    z.union([templated(context), secretRefSchema], { error: 'expected a string or { $env: VARIABLE }' }),
    { error: 'expected an object of header name → value' },
  );
}

export const resolveParamSchema = siteObject('param.resolve', {
  type: z.literal('resolve'),
  resource: z.string().min(1),
  field: z.string().min(1),
});

const paramBindingSchema = z.discriminatedUnion('type', [resolveParamSchema, incrementalParamSchema], {
  error: 'expected { type: resolve, resource, field } or { type: incremental, cursor_path, … }',
});

const listItem = z.union([z.string(), z.number(), z.boolean()], {
  error: 'expected a string, number or boolean',
});

export const paramValueSchema = z.union(
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
    error:
      'expected a string, number, boolean, null, a list of those, { type: resolve, resource, field } or { type: incremental, cursor_path, … }',
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
  data_selector: z
    .string()
    .min(1)
    .superRefine((value, ctx) => {
      const checked = normaliseDataSelector(value);
      if (!checked.ok)
        ctx.addIssue({ code: 'custom', message: `${checked.reason} (it must select one array)` });
    })
    .optional(),
  response_actions: z.array(responseActionSchema).optional(),
  auth: authSchema.optional(),
  headers: headersSchema('header').optional(),
  incremental: incrementalSchema.optional(),
});

/** `endpoint`: a path, or an object. */
export const endpointSchema = z.union([templated('path'), endpointObjectSchema], {
  error: 'expected a path or an endpoint object',
});
