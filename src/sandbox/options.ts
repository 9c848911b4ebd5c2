/**
 * The sandbox's options: what a caller may set (every field optional, with a documented default), validated once
 * with a schema whose messages name the option and the valid values, then resolved into one complete settings
 * object the rest of the sandbox reads.
 */
import { z } from 'zod';
import type { FaultRule } from './faults.ts';
import { defaultProjectCount } from './generators-projects.ts';
import { hostileKinds, type HostileOptions, type ResolvedHostile } from './hostile.ts';
import type { MessageProgressOptions, PreloadOptions } from './messaging-store.ts';
import type { RequestLogEntry } from './request-log.ts';
import {
  defaultCounts,
  isSingleObjectResource,
  sandboxResources,
  type SandboxResource,
} from './resources.ts';

/** Credentials of the generic auth routes. */
export interface GenericCredentialsOptions {
  /** For `api-key-header` (`X-API-Key`), `api-key-query` and `api-key-cookie` (`api_key`). Default `sandbox-generic-key`. */
  readonly apiKey?: string;
  /** Static token of the `bearer` route. Default `sandbox-bearer-token`. */
  readonly bearerToken?: string;
  /** HTTP basic user. Default `sandbox-user`. */
  readonly username?: string;
  /** HTTP basic password. Default `sandbox-password`. */
  readonly password?: string;
  /** OAuth2 client id. Default `sandbox-client`. */
  readonly clientId?: string;
  /** OAuth2 client secret. Default `sandbox-client-secret`. */
  readonly clientSecret?: string;
  /** Lifetime of issued access tokens, in ms; after it they get 401. Default 3 600 000 (1 h). */
  readonly tokenTtlMs?: number;
}

export interface SandboxOptions {
  /** Interface to bind. Default `127.0.0.1` (loopback only). */
  readonly host?: string;
  /** Port of the API. Default 0: any free port (read it from `sandbox.url`). */
  readonly port?: number;
  /** Port of the "other origin" listener that cross-origin redirects point to. Default 0. */
  readonly otherOriginPort?: number;
  /** Seed of every generated value. Same seed → identical bodies. Default 1. */
  readonly seed?: number;
  /** Records per resource, e.g. `{ user_call_records: 1_000_000, contacts: 0 }`. Business hours are always 1. */
  readonly counts?: Partial<Record<SandboxResource, number>>;
  /**
   * The revision of every generated record: from 2 on, each one has `"revision": N`, hostile ones too (still of
   * their kind) — the same ids, every record changed (all-changed re-loads, `npm run bench:e2e`). Default 1:
   * records as generated.
   */
  readonly revision?: number;
  /** Serve hostile records (loader tests). `true` = every 10th record, all kinds. Default off. */
  readonly hostile?: boolean | HostileOptions;
  /** Expected API keys. Defaults `sandbox-communications-key` (query `api_key`), `sandbox-messaging-key` (header `api_key`). */
  readonly keys?: { readonly communications?: string; readonly messaging?: string };
  readonly generic?: GenericCredentialsOptions;
  /** Projects of `/generic/projects` (each with its tasks under `/generic/projects/{id}/tasks`). Default 25. */
  readonly projects?: number;
  /** Initial records of `/generic/changes` (more come with `sandbox.changes.mutate`). Default 40. */
  readonly changes?: number;
  /** Default page size of the paginated routes (clients may ask for another). Default 10. */
  readonly pageSize?: number;
  /** Message status progression and preloaded "old" messages. Default: final after 1 non-final poll. */
  readonly messages?: MessageProgressOptions & { readonly preload?: PreloadOptions };
  /** Fault rules active from the start (more can be added at runtime with `sandbox.faults.add`). */
  readonly faults?: readonly FaultRule[];
  /** Entries kept in the request log (oldest dropped first). Default 10 000. */
  readonly logLimit?: number;
  /** Called with each request's log entry when it finishes (e.g. to print it). */
  readonly onRequest?: (entry: RequestLogEntry) => void;
}

export interface ResolvedGenericCredentials {
  readonly apiKey: string;
  readonly bearerToken: string;
  readonly username: string;
  readonly password: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly tokenTtlMs: number;
}

export interface ResolvedSandboxOptions {
  readonly host: string;
  readonly port: number;
  readonly otherOriginPort: number;
  readonly seed: number;
  readonly counts: Readonly<Record<SandboxResource, number>>;
  readonly revision: number;
  readonly hostile: ResolvedHostile | undefined;
  readonly keys: { readonly communications: string; readonly messaging: string };
  readonly generic: ResolvedGenericCredentials;
  readonly projects: number;
  readonly changes: number;
  readonly pageSize: number;
  readonly messages: MessageProgressOptions;
  readonly preload: PreloadOptions | undefined;
  readonly faults: readonly FaultRule[];
  readonly logLimit: number;
  readonly onRequest: ((entry: RequestLogEntry) => void) | undefined;
}

export const defaultKeys = {
  communications: 'sandbox-communications-key',
  messaging: 'sandbox-messaging-key',
} as const;

export const defaultGenericCredentials: ResolvedGenericCredentials = {
  apiKey: 'sandbox-generic-key',
  bearerToken: 'sandbox-bearer-token',
  username: 'sandbox-user',
  password: 'sandbox-password',
  clientId: 'sandbox-client',
  clientSecret: 'sandbox-client-secret',
  tokenTtlMs: 3_600_000,
};

/** Initial records of `/generic/changes` by default, and the most the `changes` option allows. */
export const defaultChangeCount = 40;
export const maxChanges = 1_000_000;

/** Most projects the `projects` option allows (their tasks are generated per request, their counts kept). */
export const maxProjects = 1_000_000;

// Secrets travel in headers and URLs: visible ASCII without separators keeps every location valid.
const secret = z.string().regex(/^[\x21-\x7e]+$/, 'must be non-empty visible ASCII without spaces');
const port = z.number().int().min(0).max(65_535);
const count = z.number().int().min(0).max(1_000_000_000);

const optionsSchema = z.object({
  host: z.string().min(1).optional(),
  port: port.optional(),
  otherOriginPort: port.optional(),
  seed: z.number().int().safe().optional(),
  counts: z
    .record(z.string(), count)
    .superRefine((counts, ctx) => {
      for (const [name, value] of Object.entries(counts)) {
        if (!(sandboxResources as readonly string[]).includes(name)) {
          ctx.addIssue({
            code: 'custom',
            path: [name],
            message: `unknown resource; expected one of ${sandboxResources.join(', ')}`,
          });
        } else if (isSingleObjectResource(name) && value !== 1) {
          ctx.addIssue({
            code: 'custom',
            path: [name],
            message: 'always serves exactly one object: count must be 1',
          });
        }
      }
    })
    .optional(),
  revision: z.number().int().min(1).safe().optional(),
  hostile: z
    .union([
      z.boolean(),
      z.object({
        every: z.number().int().positive().optional(),
        kinds: z.array(z.enum(hostileKinds)).optional(),
      }),
    ])
    .optional(),
  keys: z.object({ communications: secret.optional(), messaging: secret.optional() }).optional(),
  generic: z
    .object({
      apiKey: secret.optional(),
      bearerToken: secret.optional(),
      username: z
        .string()
        .min(1)
        .regex(/^[^:]+$/, 'must not contain ":"')
        .optional(),
      password: secret.optional(),
      clientId: secret.optional(),
      clientSecret: secret.optional(),
      tokenTtlMs: z.number().positive().optional(),
    })
    .optional(),
  projects: z.number().int().min(0).max(maxProjects).optional(),
  changes: z.number().int().min(0).max(maxChanges).optional(),
  pageSize: z.number().int().min(1).max(10_000).optional(),
  messages: z
    .object({
      finalAfterPolls: z.number().int().min(0).optional(),
      finalAfterMs: z.number().min(0).optional(),
      preload: z
        .object({
          count: count,
          pendingEvery: z.number().int().positive().optional(),
          expiredEvery: z.number().int().positive().optional(),
        })
        .optional(),
    })
    .optional(),
  logLimit: z.number().int().positive().optional(),
});

/** Validates and completes the options. Throws one error listing every problem with its option path. */
export function resolveSandboxOptions(options: SandboxOptions = {}): ResolvedSandboxOptions {
  const { faults, onRequest, ...plain } = options;
  const result = optionsSchema.safeParse(plain);
  if (!result.success) {
    const problems = result.error.issues.map(
      (issue) => `${issue.path.join('.') || '(options)'}: ${issue.message}`,
    );
    throw new Error(`invalid sandbox options: ${problems.join('; ')}`);
  }
  const hostile: ResolvedHostile | undefined =
    options.hostile === undefined || options.hostile === false
      ? undefined
      : {
          every: options.hostile === true ? 10 : (options.hostile.every ?? 10),
          kinds: options.hostile === true ? hostileKinds : (options.hostile.kinds ?? hostileKinds),
        };
  const progress = options.messages ?? {};
  const bothUnset = progress.finalAfterPolls === undefined && progress.finalAfterMs === undefined;
  return {
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    otherOriginPort: options.otherOriginPort ?? 0,
    seed: options.seed ?? 1,
    counts: { ...defaultCounts, ...withoutUndefined(options.counts) },
    revision: options.revision ?? 1,
    hostile,
    keys: { ...defaultKeys, ...withoutUndefined(options.keys) },
    generic: { ...defaultGenericCredentials, ...withoutUndefined(options.generic) },
    projects: options.projects ?? defaultProjectCount,
    changes: options.changes ?? defaultChangeCount,
    pageSize: options.pageSize ?? 10,
    messages: bothUnset
      ? { finalAfterPolls: 1 }
      : {
          ...(progress.finalAfterPolls === undefined ? {} : { finalAfterPolls: progress.finalAfterPolls }),
          ...(progress.finalAfterMs === undefined ? {} : { finalAfterMs: progress.finalAfterMs }),
        },
    preload: progress.preload,
    faults: faults ?? [],
    logLimit: options.logLimit ?? 10_000,
    onRequest,
  };
}

/** A copy without the keys whose value is undefined (so that they do not override defaults when spread). */
function withoutUndefined<T extends object>(value: T | undefined): Partial<T> {
  if (value === undefined) return {};
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
