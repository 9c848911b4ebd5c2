/**
 * Where the keys of one merged resource are written in the source file — its own entry, `resource_defaults` or
 * `client` — so that a problem or warning about a merged value points at the line the user wrote.
 */
import { joinPath } from './problems.ts';
import type { ResourceDefaultsConfig, ResourceEntryConfig, SourceConfig } from './schema.ts';

/** Where the keys of one merged resource are written in the file (its own entry, the defaults or the client). */
export interface ResourceLocator {
  /** Where the name is written: `resources[2].name`, or `resources[2]` for a string resource. */
  name(): string;
  /** A resource-level key, e.g. `resources[2].primary_key` or `resource_defaults.primary_key`. */
  key(key: string): string;
  /** An endpoint key, e.g. `resources[2].endpoint.path`. */
  endpoint(key: string): string;
  /** One entry of `params`, `json` or `headers` (headers may come from `client.headers`). */
  endpointEntry(group: 'params' | 'json' | 'headers', name: string): string;
  /** The auth object the resource uses. */
  auth(): string;
}

function has(object: unknown, key: string): boolean {
  return object !== null && typeof object === 'object' && Object.hasOwn(object, key);
}

/** The locator of the resource at `resources[index]`. */
export function makeLocator(
  entry: ResourceEntryConfig,
  index: number,
  defaults: ResourceDefaultsConfig | undefined,
  client: SourceConfig['client'],
): ResourceLocator {
  const own = `resources[${index}]`;
  const ownEndpoint = typeof entry === 'string' ? undefined : entry.endpoint;
  const defaultEndpoint = typeof defaults?.endpoint === 'object' ? defaults.endpoint : undefined;
  const endpoint = (key: string): string => {
    if (key === 'path') {
      // dlt: a string resource is its path, a string endpoint is a path, a missing path is the name.
      if (typeof entry === 'string') return own;
      if (typeof ownEndpoint === 'string') return joinPath(own, 'endpoint');
      return has(ownEndpoint, 'path') ? joinPath(own, 'endpoint', 'path') : joinPath(own, 'name');
    }
    if (typeof ownEndpoint === 'object' && has(ownEndpoint, key)) return joinPath(own, 'endpoint', key);
    if (has(defaultEndpoint, key)) return joinPath('resource_defaults', 'endpoint', key);
    return typeof entry === 'string' ? own : joinPath(own, 'endpoint', key);
  };
  return {
    name: () => (typeof entry === 'string' ? own : joinPath(own, 'name')),
    key: (key) =>
      (typeof entry !== 'string' && has(entry, key)) || !has(defaults, key)
        ? joinPath(own, key)
        : joinPath('resource_defaults', key),
    endpoint,
    endpointEntry: (group, name) => {
      if (typeof ownEndpoint === 'object' && has(ownEndpoint[group], name))
        return joinPath(own, 'endpoint', group, name);
      if (has(defaultEndpoint?.[group], name)) return joinPath('resource_defaults', 'endpoint', group, name);
      if (group === 'headers' && has(client.headers, name)) return joinPath('client', 'headers', name);
      return joinPath(endpoint(group), name);
    },
    auth: () => {
      if ((typeof ownEndpoint === 'object' && has(ownEndpoint, 'auth')) || has(defaultEndpoint, 'auth'))
        return endpoint('auth');
      return joinPath('client', 'auth');
    },
  };
}
