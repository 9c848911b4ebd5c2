/** `auth`: dlt's auth types, as a type name (credentials from the environment) or an object. */
import { z } from 'zod';
import { httpUrl, secretRefSchema, secretString, siteObject } from './schema-site.ts';

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
