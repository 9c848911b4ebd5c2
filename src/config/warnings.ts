/**
 * Warnings of a valid source config, returned as data (`{ path, message }`), never printed: keys that are accepted
 * but have no effect here (the `ignored` rows of the compatibility matrix), inline credentials, dlt's deprecated
 * `json_response`, write strategies that run differently than in dlt, and resources left to paginator detection.
 */
import type { AnalysedResource } from './analyse-resource.ts';
import { compatEntry, ignoredKeys } from './compat.ts';
import { joinPath, type ConfigWarning } from './problems.ts';
import type {
  ColumnsConfig,
  PaginatorConfig,
  ResourceDefaultsConfig,
  ResourceEntryConfig,
  SourceConfig,
} from './schema.ts';
import type { LiteralSecret } from './secrets.ts';
import { isSingleEntityPath } from './templates.ts';

function ignoredKeyWarnings(
  object: ResourceEntryConfig | ResourceDefaultsConfig | undefined,
  path: string,
  out: ConfigWarning[],
): void {
  if (object === undefined || typeof object === 'string') return;
  for (const key of ignoredKeys('resource')) {
    if (Object.hasOwn(object, key)) {
      out.push({
        path: joinPath(path, key),
        message: `ignored: ${compatEntry('resource', key)?.note ?? ''}`,
      });
    }
  }
  const columns: ColumnsConfig | undefined = object.columns;
  if (columns === undefined) return;
  const entries: [string | number, object][] = Array.isArray(columns)
    ? (columns as readonly object[]).map((column, index) => [index, column])
    : Object.entries(columns as Readonly<Record<string, object>>);
  for (const [name, hints] of entries) {
    for (const key of ignoredKeys('column')) {
      if (Object.hasOwn(hints, key)) {
        out.push({
          path: joinPath(path, 'columns', name, key),
          message: `ignored: ${compatEntry('column', key)?.note ?? ''}`,
        });
      }
    }
  }
}

function secretWarning(secret: LiteralSecret): ConfigWarning {
  if (secret.kind === 'param') {
    return {
      path: secret.path,
      message:
        'this query parameter looks like a credential written inline: it goes into the plan and Temporal history; use auth { type: api_key, location: query, api_key: { $env: VAR } }',
    };
  }
  return {
    path: secret.path,
    message:
      'a credential written inline: it is masked in messages and kept out of the plan, but it lives in the file; use { $env: VAR }',
  };
}

function paginatorType(paginator: PaginatorConfig | undefined): string | undefined {
  if (paginator === undefined) return undefined;
  return typeof paginator === 'string' ? paginator : (paginator.type ?? 'auto');
}

/** Warnings of a validated source (paths point where the key is written). */
export function collectConfigWarnings(
  config: SourceConfig,
  resources: readonly AnalysedResource[],
  literalSecrets: readonly LiteralSecret[],
): ConfigWarning[] {
  const out: ConfigWarning[] = [];
  ignoredKeyWarnings(config.resource_defaults, 'resource_defaults', out);
  config.resources.forEach((entry, index) => ignoredKeyWarnings(entry, `resources[${index}]`, out));
  out.push(...literalSecrets.map(secretWarning));

  const deprecated = 'json_response is dlt\u2019s deprecated name of json_link; it runs as json_link';
  if (paginatorType(config.client.paginator) === 'json_response') {
    out.push({ path: 'client.paginator', message: deprecated });
  }
  const seen = new Set<string>();
  const once = (warning: ConfigWarning): void => {
    const key = `${warning.path}\u0000${warning.message}`;
    if (!seen.has(key)) out.push(warning);
    seen.add(key);
  };
  for (const analysed of resources) {
    const { resource, locate } = analysed;
    const paginator = paginatorType(resource.endpoint.paginator);
    if (paginator === 'json_response') once({ path: locate.endpoint('paginator'), message: deprecated });
    if (
      paginator === undefined &&
      config.client.paginator === undefined &&
      !isSingleEntityPath(resource.endpoint.path)
    ) {
      once({
        path: analysed.path,
        message:
          'no paginator: it is detected from the first response (dlt\u2019s auto); set one for predictable runs',
      });
    }
    const disposition = resource.write_disposition;
    if (typeof disposition === 'object' && disposition.strategy !== undefined) {
      const at = joinPath(locate.key('write_disposition'), 'strategy');
      if (disposition.strategy === 'delete-insert') {
        once({
          path: at,
          message: 'delete-insert runs as upsert: rows are inserted or updated by primary key',
        });
      } else if (disposition.disposition === 'replace') {
        once({ path: at, message: 'ignored: replace always swaps the whole table atomically' });
      }
    }
  }
  return out;
}
