/**
 * The building blocks of the source-file schema. `siteObject` builds the object of one site of the compatibility
 * matrix: an unknown key is an error with a "did you mean", a rejected key an error with its reason, an ignored key
 * accepted (its warning is added later, see `warnings.ts`). Templated strings are parsed here, so a malformed
 * template is reported with the schema errors. Also the values several parts share: http(s) URLs and credentials.
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

/** The keys declared so far by each site's schema (see `schemaSiteKeys` in `schema.ts`). */
export function registeredSiteKeys(): ReadonlyMap<CompatLookupSite, ReadonlySet<string>> {
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
export function siteObject<const S extends CompatSite, Shape extends z.ZodRawShape>(
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
export function templated(context: TemplateContext) {
  return z.string().superRefine((value, ctx) => {
    for (const message of checkTemplate(value, context)) ctx.addIssue({ code: 'custom', message });
  });
}

export const httpUrl = z.string().superRefine((value, ctx) => {
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

/** Environment variable names: upper case, digits and `_`. */
export const envVarNamePattern = /^[A-Z_][A-Z0-9_]*$/;

/** `{ $env: 'MESSAGING_API_KEY' }`: the value is read from that environment variable at run time only. */
export const secretRefSchema = siteObject('secret', {
  $env: z
    .string()
    .regex(envVarNamePattern, 'expected an environment variable name: upper-case letters, digits and _'),
});

export const secretString = z.union([z.string().min(1), secretRefSchema], {
  error: 'expected a string or { $env: VARIABLE }',
});
