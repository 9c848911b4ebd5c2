/**
 * The sources shipped with durable-ingest: the two seed configs, as YAML files next to this module. A workflow input
 * names a source (`{"source":"messaging"}`); this registry turns the name into its validated config.
 */
import { fileURLToPath } from 'node:url';
import { loadSourceConfig, type LoadedSource } from '../config/load.ts';
import { configInvalidError, didYouMean } from '../config/problems.ts';

/** The shipped sources, by name. */
export const sourceNames = ['communications', 'messaging'] as const;

export type SourceName = (typeof sourceNames)[number];

/** The names of the shipped sources. */
export function listSources(): readonly SourceName[] {
  return sourceNames;
}

/** True for the name of a shipped source. */
export function isSourceName(name: string): name is SourceName {
  return (sourceNames as readonly string[]).includes(name);
}

/** The absolute path of a shipped source's file. */
export function sourceFile(name: SourceName): string {
  return fileURLToPath(new URL(`./${name}.yaml`, import.meta.url));
}

/**
 * Loads and validates a shipped source by name. An unknown name is a `config` error (`UNKNOWN_SOURCE`) listing the
 * shipped names; a file whose `name` differs from its registry name is `CONFIG_INVALID`.
 */
export async function loadSource(name: string): Promise<LoadedSource> {
  if (!isSourceName(name)) {
    throw configInvalidError(
      [
        {
          path: 'source',
          message: `unknown source "${name}"${didYouMean(name, sourceNames)}; the sources are: ${sourceNames.join(', ')}`,
        },
      ],
      { code: 'UNKNOWN_SOURCE' },
    );
  }
  const loaded = await loadSourceConfig(sourceFile(name));
  if (loaded.config.name !== name) {
    throw configInvalidError([{ path: 'name', message: `expected "${name}" (the file's registry name)` }], {
      origin: loaded.origin,
    });
  }
  return loaded;
}
