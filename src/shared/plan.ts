/**
 * The resolved plan of a source: what a run does, normalised, JSON-serialisable and secret-free (credentials are
 * references, resolved inside activities at run time). The workflow works only from a plan, so editing a source file
 * never changes a running or replayed workflow. Types only: config resolves a source into this shape
 * (`src/config/resolve.ts`) and fingerprints it (`src/config/plan-hash.ts`); workflows and activities read it.
 */

/** Something a config does that has no effect or is discouraged, at a path into the source file. */
export interface ConfigWarning {
  readonly path: string;
  readonly message: string;
}

/** JSON values. */
export type JsonValue =
  string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** A credential read from the environment variable `$env` at run time. */
export interface EnvSecretRef {
  readonly $env: string;
}

/**
 * A credential written inline in the source file (discouraged, warned): the plan holds only where it is (`$inline`
 * is its path in the file, e.g. `client.auth.api_key`); `collectInlineSecrets` reads it from the file at run time.
 */
export interface InlineSecretRef {
  readonly $inline: string;
}

export type SecretRef = EnvSecretRef | InlineSecretRef;

/** A value that may be plain text (not secret, e.g. a user name) or a reference. */
export type SecretOrText = string | SecretRef;

/**
 * A value built at run time. Strings are final text; `{ parentField }` is the value of that field (a dotted path)
 * in the parent record the request is made for; `{ incremental }` is the start or end of the run's incremental window. In a path, strings are URL text (config values already encoded) and
 * parent values are encoded when rendered; elsewhere strings are raw values.
 */
export type ResolvedTemplatePart =
  | string
  | { readonly parentField: string }
  /** `{incremental.start_value}` / `{incremental.end_value}`: the window of this run, filled in at run time. */
  | { readonly incremental: 'start_value' | 'end_value' };
export type ResolvedTemplate = readonly ResolvedTemplatePart[];

/** A query parameter value: final, a list (repeated parameter), or built from a parent record. */
export type ResolvedParamValue =
  | string
  | number
  | boolean
  | readonly (string | number | boolean)[]
  | { readonly template: ResolvedTemplate };

/** A header value: final text, a credential reference, or built from a parent record. */
export type ResolvedHeaderValue = string | SecretRef | { readonly template: ResolvedTemplate };

/** A JSON body: the value, plus the places (`pointer`) filled from the parent record at run time. */
export interface ResolvedJsonBody {
  readonly value: JsonValue;
  readonly bindings: readonly {
    readonly pointer: readonly (string | number)[];
    readonly template: ResolvedTemplate;
    /** The string was exactly one parent field: the field's value keeps its JSON type (dlt does the same). */
    readonly whole: boolean;
  }[];
}

export type ResolvedAuth =
  | {
      readonly type: 'api_key';
      readonly name: string;
      readonly location: 'header' | 'query' | 'cookie';
      readonly apiKey: SecretOrText;
    }
  | { readonly type: 'bearer'; readonly token: SecretOrText }
  | { readonly type: 'http_basic'; readonly username: SecretOrText; readonly password: SecretOrText }
  | {
      readonly type: 'oauth2_client_credentials';
      readonly accessTokenUrl: string;
      readonly clientId: SecretOrText;
      readonly clientSecret: SecretOrText;
      readonly accessTokenRequestData: Readonly<Record<string, string | number | boolean | SecretRef>>;
      /** Seconds a token lives when the token response has no `expires_in`. */
      readonly defaultTokenExpiration: number;
    };

/** The guard every paginated loop has: stop with an error after this many pages. */
export const defaultMaxPages = 10_000;

export type ResolvedPaginator =
  | { readonly type: 'single_page' }
  | { readonly type: 'auto'; readonly maxPages: number }
  | { readonly type: 'json_link'; readonly nextUrlPath: string; readonly maxPages: number }
  | { readonly type: 'header_link'; readonly linksNextKey: string; readonly maxPages: number }
  | {
      readonly type: 'header_cursor';
      readonly cursorKey: string;
      readonly cursorParam: string;
      readonly maxPages: number;
    }
  | {
      readonly type: 'offset';
      readonly limit: number;
      readonly offset: number;
      /** Query parameters, or null when the value goes in the JSON body at the matching `…BodyPath`. */
      readonly offsetParam: string | null;
      readonly limitParam: string | null;
      readonly offsetBodyPath: string | null;
      readonly limitBodyPath: string | null;
      readonly totalPath: string | null;
      readonly maximumOffset: number | null;
      /** A boolean in the response that says whether another page follows (dlt's `has_more_path`). */
      readonly hasMorePath: string | null;
      readonly stopAfterEmptyPage: boolean;
      readonly maxPages: number;
    }
  | {
      readonly type: 'page_number';
      readonly basePage: number;
      readonly page: number;
      /** Query parameter, or null when the page goes in the JSON body at `pageBodyPath`. */
      readonly pageParam: string | null;
      readonly pageBodyPath: string | null;
      readonly totalPath: string | null;
      readonly maximumPage: number | null;
      /** A boolean in the response that says whether another page follows (dlt's `has_more_path`). */
      readonly hasMorePath: string | null;
      readonly stopAfterEmptyPage: boolean;
      readonly maxPages: number;
    }
  | {
      readonly type: 'cursor';
      readonly cursorPath: string;
      /** Query parameter for the cursor, or null when it goes in the JSON body at `cursorBodyPath`. */
      readonly cursorParam: string | null;
      readonly cursorBodyPath: string | null;
      readonly maxPages: number;
    };

/** A cursor value: what `cursor_path` reads from a record (a timestamp as ISO 8601 text, or a number). */
export type CursorValue = string | number;

/**
 * Incremental loading (dlt's `incremental`, in any of its three forms — `endpoint.incremental`, a param with
 * `type: incremental`, or `{incremental.start_value}` placeholders): each run asks only for records whose cursor
 * (`cursorPath`) is at or after the start of its window — the cursor stored by the last successful run (minus
 * `lag`), else `initialValue` — and, when there is one, before its end. The stored cursor advances, in the merge
 * transaction, to the largest cursor value the run loaded.
 */
export interface ResolvedIncremental {
  /** Dotted path of the cursor in each record. */
  readonly cursorPath: string;
  /** Query parameter that receives the window's start (null: only placeholders use it). */
  readonly startParam: string | null;
  /** Query parameter that receives the window's end, when the window has one. */
  readonly endParam: string | null;
  /** The start of the first run's window (and of a reset cursor); null: the first run asks for everything. */
  readonly initialValue: CursorValue | null;
  /** A fixed end of every window (dlt's `end_value`): the stored cursor then never advances. */
  readonly endValue: CursorValue | null;
  /** Subtracted from the stored cursor to start the next window: seconds for timestamps, units for numbers. */
  readonly lag: number | null;
  /** Whether a record exactly at the start (`closed`, dlt's default) or at the end (`open` by default) is loaded. */
  readonly rangeStart: 'open' | 'closed';
  readonly rangeEnd: 'open' | 'closed';
  /** A record without a cursor value: fail the resource (`raise`, dlt's default), load it, or leave it out. */
  readonly onCursorValueMissing: 'raise' | 'include' | 'exclude';
}

/** `response_actions`: when a response matches (status and/or body substring), ignore it (zero records). */
export interface ResolvedResponseAction {
  readonly statusCode: number | null;
  readonly content: string | null;
  readonly action: 'ignore';
}

export interface ResolvedEndpoint {
  readonly method: 'GET' | 'POST';
  readonly path: ResolvedTemplate;
  /** In the order written; a parameter set to null, or emptied by a template, is absent. */
  readonly params: Readonly<Record<string, ResolvedParamValue>>;
  readonly json: ResolvedJsonBody | null;
  /** Client headers merged with the endpoint's (the endpoint wins). */
  readonly headers: Readonly<Record<string, ResolvedHeaderValue>>;
  readonly auth: ResolvedAuth | null;
  readonly paginator: ResolvedPaginator;
  /** JSONPath of the records; null: detected from the response (dlt's behaviour). */
  readonly dataSelector: string | null;
  readonly responseActions: readonly ResolvedResponseAction[];
  /** Incremental loading, or null when every run fetches everything. */
  readonly incremental: ResolvedIncremental | null;
}

export interface ResolvedColumn {
  readonly dataType: string | null;
  readonly nullable: boolean | null;
  readonly precision: number | null;
  readonly scale: number | null;
  readonly timezone: boolean | null;
  readonly description: string | null;
}

/** A parent field copied into each child record (`include_from_parent`), under dlt's name `_<parent>_<field>`. */
export interface ResolvedParentField {
  /** The field of the parent record (a top-level name, or a dotted path). */
  readonly field: string;
  /** The field it becomes in the child record: `_<parent>_<field>` (dlt's naming). */
  readonly as: string;
}

/** How a child resource gets the parent records its requests are made for. */
export interface ResolvedDependency {
  readonly parent: string;
  /** The parent fields the child's requests use (dotted paths), one per resolve param, in the order written. */
  readonly fields: readonly string[];
  /** Parent fields copied into every child record (`include_from_parent`). */
  readonly includeFromParent: readonly ResolvedParentField[];
  /**
   * `run`: from the parent's records in this run (the orchestration may add stored ones); `storage`: the parent
   * does not run (not selected, or skipped), so its records are read from Postgres.
   */
  readonly parentRecordsFrom: 'run' | 'storage';
  /** Why, in words, when `storage`. */
  readonly note: string | null;
}

/**
 * `poll` (ours): a child fetched again, pass after pass, until a field of its records reaches a final value — e.g.
 * a message's delivery status. A parent record whose child is final is never fetched again; one still pending when
 * the run stops polling carries over to the next run; one not final `maxAgeMs` after it was first seen is recorded
 * as unresolvable and no longer polled.
 */
export interface ResolvedPoll {
  /** Dotted path of the field in each child record. */
  readonly field: string;
  /** The values after which the child never changes. */
  readonly final: readonly (string | number | boolean)[];
  /** Between two passes of one run. */
  readonly intervalMs: number;
  /** How long one run keeps polling; what is still pending then is polled by the next run. */
  readonly runForMs: number;
  /** After this long (from when the parent record was first seen) a child not final is given up. */
  readonly maxAgeMs: number;
}

/** Why a resource does not run. */
export interface ResourceSkip {
  readonly reason: string;
  /** The config values that are missing. */
  readonly missingConfig: readonly string[];
}

interface ResolvedResourceBase {
  readonly name: string;
  readonly tableName: string;
  /** Column names; empty when the resource has none (allowed for `append` and `replace` only). */
  readonly primaryKey: readonly string[];
  readonly writeDisposition: 'merge' | 'replace' | 'append';
  readonly deletionDetection: boolean;
  readonly columns: Readonly<Record<string, ResolvedColumn>>;
  readonly dependency: ResolvedDependency | null;
  /** Its requests use config values (`{{ config['x'] }}`): what it returns depends on them. */
  readonly parameterDependent: boolean;
  /**
   * The request may be sent again (every resource not marked `side_effects: true`): it may paginate, be retried and
   * run implicitly as the parent of a selected child. A resource with side effects (the messaging `sms`, which
   * sends a text message) is sent at most once per load and never paginates.
   */
  readonly repeatable: boolean;
  /**
   * The fields of this resource's records that its children in this plan need (their resolve fields and
   * `include_from_parent` fields, dotted paths, sorted): what a run keeps of each record for them. Empty when no
   * child of it runs.
   */
  readonly childFields: readonly string[];
  /** `poll` (ours), on a child only: null when the child is fetched once per parent record. */
  readonly poll: ResolvedPoll | null;
  /** The config values its requests use. */
  readonly configKeys: readonly string[];
  /** Why it is in the run: by default, asked for by name, or as the parent of an asked-for resource. */
  readonly selection: 'default' | 'requested' | 'parent';
}

/** A resource that runs (`skip: null`) or is skipped with a reason (`endpoint: null`: nothing is requested). */
export type ResolvedResource =
  | (ResolvedResourceBase & { readonly skip: null; readonly endpoint: ResolvedEndpoint })
  | (ResolvedResourceBase & { readonly skip: ResourceSkip; readonly endpoint: null });

/** The source's `retry` block in milliseconds: only what the file sets (the activity applies the defaults). */
export interface ResolvedRetry {
  readonly maxAttempts?: number;
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly retryAfterFloorMs?: number;
  readonly retryAfterCeilingMs?: number;
}

export interface ResolvedSource {
  readonly planVersion: 1;
  readonly source: string;
  /** The base URL every relative path is joined to. */
  readonly baseUrl: string;
  /** The resources of this run, parents before children, otherwise in file order. */
  readonly resources: readonly ResolvedResource[];
  /** Environment variables holding the credentials this run needs. */
  readonly secretVariables: readonly string[];
  /** The retry budget the source file sets (absent: the defaults). */
  readonly retry?: ResolvedRetry;
  /** Days rejected records are kept, when the source file sets it (absent: the default, 30). */
  readonly rejectedRetentionDays?: number;
  /** Warnings (not part of the hash). */
  readonly warnings: readonly ConfigWarning[];
  /** sha256 of the canonical JSON of everything above except `warnings`. */
  readonly hash: string;
}
