/**
 * The config library's public surface: load and validate a source file, resolve it into a plan, resolve secrets and
 * render requests at run time. No Temporal, no I/O beyond reading the file.
 */
export { analyseSource, validateSourceConfig, type ValidatedSource } from './analyse.ts';
export {
  compatibilityMatrix,
  renderCompatibilityMarkdown,
  type CompatEntry,
  type CompatStatus,
} from './compat.ts';
export { mergeResourceDefaults, normaliseResource, type MergedResource } from './defaults.ts';
export { baseUrlEnvVar, configEnvVar, credentialEnvVar } from './env.ts';
export { loadSourceConfig, readSourceFile, type LoadedSource } from './load.ts';
export {
  canonicalJson,
  defaultMaxPages,
  planHash,
  type EnvSecretRef,
  type InlineSecretRef,
  type JsonValue,
  type ResolvedAuth,
  type ResolvedColumn,
  type ResolvedDependency,
  type ResolvedEndpoint,
  type ResolvedHeaderValue,
  type ResolvedJsonBody,
  type ResolvedPaginator,
  type ResolvedParamValue,
  type ResolvedResource,
  type ResolvedResponseAction,
  type ResolvedSource,
  type ResolvedTemplate,
  type ResolvedTemplatePart,
  type ResourceSkip,
  type SecretOrText,
  type SecretRef,
} from './plan.ts';
export { configInvalidError, type ConfigProblem, type ConfigWarning } from './problems.ts';
export {
  appendQuery,
  buildQueryString,
  encodePathValue,
  encodeQueryValue,
  joinUrl,
  readField,
  renderRequest,
  type RenderedRequest,
} from './render.ts';
export { resolvePaginator, resolveSource, type ResolveOptions } from './resolve.ts';
export type {
  AuthConfig,
  ClientConfig,
  ColumnsConfig,
  ConfigValue,
  EndpointConfig,
  PaginatorConfig,
  ResourceConfig,
  ResourceDefaultsConfig,
  ResourceEntryConfig,
  SecretRefConfig,
  SourceConfig,
  WriteDispositionConfig,
} from './schema.ts';
export {
  collectInlineSecrets,
  isSecretRef,
  resolveHeaderSecrets,
  resolveSecrets,
  resolveSecretValue,
  type AuthCredentials,
  type SecretSources,
} from './secrets.ts';
export { parseTemplate, templateGrammar, type TemplateExpression, type TemplateToken } from './templates.ts';
