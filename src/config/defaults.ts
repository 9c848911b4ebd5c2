/**
 * dlt's resource normalisation and `resource_defaults` merge (dlt/sources/rest_api/config_setup.py,
 * `_make_endpoint_resource` and `_merge_resource_endpoints`):
 * - a string resource is `{ name: s, endpoint: { path: s } }`; a string endpoint is `{ path }`; a missing path is
 *   the resource name (so a default `endpoint.path` never applies);
 * - the merge is shallow — a resource's key replaces the default's (`primary_key` included) — except
 *   `endpoint` (merged key by key), `endpoint.params` and `endpoint.json` (merged name by name) and `columns` (merged
 *   column by column, hint by hint).
 * Nothing is mutated: every merged object is new.
 */
import type {
  ColumnsConfig,
  EndpointConfig,
  ResourceConfig,
  ResourceDefaultsConfig,
  ResourceEntryConfig,
} from './schema.ts';

/** The hints of one column (without its name). */
export type ColumnHintsConfig = Omit<Extract<ColumnsConfig, readonly unknown[]>[number], 'name'>;

/** A resource after normalisation and the defaults merge. */
export type MergedResource = Omit<ResourceConfig, 'endpoint' | 'columns'> & {
  readonly endpoint: EndpointConfig & { readonly path: string };
  readonly columns?: Readonly<Record<string, ColumnHintsConfig>>;
};

/** A resource in object form with an object endpoint that has a path (before the defaults merge). */
export function normaliseResource(entry: ResourceEntryConfig): Omit<ResourceConfig, 'endpoint'> & {
  readonly endpoint: EndpointConfig & { readonly path: string };
} {
  if (typeof entry === 'string') return { name: entry, endpoint: { path: entry } };
  const endpoint: EndpointConfig =
    typeof entry.endpoint === 'string' ? { path: entry.endpoint } : (entry.endpoint ?? {});
  return { ...entry, endpoint: { ...endpoint, path: endpoint.path ?? entry.name } };
}

/** Columns as an object of name → hints (dlt's list form converted). */
export function normaliseColumns(columns: ColumnsConfig): Record<string, ColumnHintsConfig> {
  if (!Array.isArray(columns)) {
    const out: Record<string, ColumnHintsConfig> = {};
    for (const [name, hints] of Object.entries(
      columns as Readonly<Record<string, ColumnHintsConfig & { name?: string }>>,
    )) {
      const { name: _name, ...rest } = hints;
      out[name] = rest;
    }
    return out;
  }
  const out: Record<string, ColumnHintsConfig> = {};
  for (const column of columns as Extract<ColumnsConfig, readonly unknown[]>) {
    const { name, ...hints } = column;
    out[name] = { ...out[name], ...hints };
  }
  return out;
}

function mergeColumns(
  defaults: ColumnsConfig | undefined,
  own: ColumnsConfig | undefined,
): Readonly<Record<string, ColumnHintsConfig>> | undefined {
  if (own === undefined) return defaults === undefined ? undefined : normaliseColumns(defaults);
  if (defaults === undefined) return normaliseColumns(own);
  const merged: Record<string, ColumnHintsConfig> = { ...normaliseColumns(defaults) };
  for (const [name, hints] of Object.entries(normaliseColumns(own)))
    merged[name] = { ...merged[name], ...hints };
  return merged;
}

/** Applies `resource_defaults` to one resource, with dlt's rules (see the module comment). */
export function mergeResourceDefaults(
  defaults: ResourceDefaultsConfig | undefined,
  entry: ResourceEntryConfig,
): MergedResource {
  const resource = normaliseResource(entry);
  const defaultEndpoint: EndpointConfig =
    defaults?.endpoint === undefined
      ? {}
      : typeof defaults.endpoint === 'string'
        ? { path: defaults.endpoint }
        : defaults.endpoint;
  const { params: ownParams, json: ownJson, ...ownEndpoint } = resource.endpoint;
  const endpoint: EndpointConfig & { readonly path: string } = {
    ...defaultEndpoint,
    ...ownEndpoint,
    ...(ownParams === undefined ? {} : { params: { ...defaultEndpoint.params, ...ownParams } }),
    ...(ownJson === undefined ? {} : { json: { ...defaultEndpoint.json, ...ownJson } }),
  };

  const { columns: ownColumns, endpoint: _endpoint, ...ownRest } = resource;
  const base: ResourceDefaultsConfig = defaults ?? {};
  const { columns: defaultColumns, endpoint: _defaultEndpoint, ...defaultRest } = base;
  const columns = mergeColumns(defaultColumns, ownColumns);
  return { ...defaultRest, ...ownRest, endpoint, ...(columns === undefined ? {} : { columns }) };
}
