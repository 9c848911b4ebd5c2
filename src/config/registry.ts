/**
 * The source registry: a folder of source files, each one source named by its `name` key (not by the file name).
 * Every `*.yaml`, `*.yml`, `*.json`, `*.ts` and `*.js` file directly in the folder counts (dotfiles and subfolders
 * do not). A file that cannot be read or validated — or whose name another file uses too — is reported as broken
 * with its path and reason and serves nothing; it never takes the other sources down. Nothing is cached but the
 * modules of unchanged TS/JS files: every lookup rescans, so a new or edited file counts from the next run on.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { IngestError, describeError, isIngestError } from '../errors.ts';
import { validateSourceConfig } from './analyse.ts';
import { readSourceFile, type LoadedSource } from './load.ts';
import { configInvalidError, didYouMean, type ConfigProblem } from './problems.ts';
import { collectInlineSecrets } from './secrets.ts';

/** The sources shipped with durable-ingest: the repository's `sources/` folder (the default sources folder). */
export const shippedSourcesDir: string = fileURLToPath(new URL('../../sources', import.meta.url));

/** The file types a sources folder is scanned for. */
export const sourceFileExtensions: readonly string[] = ['.yaml', '.yml', '.json', '.ts', '.js'];
const moduleExtensions = new Set(['.ts', '.js']);

/** A source the folder serves. */
export interface RegisteredSource {
  readonly name: string;
  /** Its file (absolute path). */
  readonly file: string;
  readonly loaded: LoadedSource;
}

/** A file of the folder that serves nothing, and why. */
export interface BrokenSourceFile {
  readonly file: string;
  /** The `name` the file gives, when it could be read that far. */
  readonly name: string | undefined;
  /** `CONFIG_INVALID` (unreadable or invalid), or `DUPLICATE_SOURCE` (its name is used by another file too). */
  readonly code: string;
  /** Each problem with its path in the file (values are never repeated; inline credentials are masked). */
  readonly problems: readonly ConfigProblem[];
}

/** What a sources folder holds right now. */
export interface SourceScan {
  readonly dir: string;
  /** The sources served, by name, in name order. */
  readonly sources: ReadonlyMap<string, RegisteredSource>;
  /** The broken files, in file-name order. */
  readonly broken: readonly BrokenSourceFile[];
}

/** The reason a broken file serves nothing, on one line. */
export function describeBroken(broken: BrokenSourceFile): string {
  return broken.problems.map((problem) => `${problem.path}: ${problem.message}`).join('; ');
}

/**
 * Reads and validates every source file of `dir`. A folder that cannot be listed is an `environment` error
 * (`SOURCES_DIR_UNREADABLE`); anything wrong with a file is reported in `broken`.
 */
export async function scanSources(dir: string): Promise<SourceScan> {
  const folder = resolve(dir);
  const files = await listSourceFiles(folder);
  const outcomes = await Promise.all(files.map((file) => loadFile(file)));
  const byName = new Map<string, RegisteredSource[]>();
  const broken: BrokenSourceFile[] = [];
  for (const outcome of outcomes) {
    if ('loaded' in outcome) byName.set(outcome.name, [...(byName.get(outcome.name) ?? []), outcome]);
    else broken.push(outcome);
  }
  const sources = new Map<string, RegisteredSource>();
  for (const name of [...byName.keys()].sort()) {
    const registered = byName.get(name) ?? [];
    const [only] = registered;
    if (registered.length === 1 && only !== undefined) {
      sources.set(name, only);
      continue;
    }
    for (const source of registered) {
      const others = registered.filter((other) => other !== source).map((other) => basename(other.file));
      broken.push({
        file: source.file,
        name,
        code: 'DUPLICATE_SOURCE',
        problems: [
          {
            path: 'name',
            message: `the source name "${name}" is also used by ${others.join(', ')} in the same folder: neither file is served until one is renamed`,
          },
        ],
      });
    }
  }
  broken.sort((a, b) => a.file.localeCompare(b.file));
  return { dir: folder, sources, broken };
}

/**
 * Loads the source named `name` from `dir`, rescanning the folder. An unknown name is a `config` error
 * (`UNKNOWN_SOURCE`, not retryable) listing the names served, with a "did you mean"; a name given by a broken
 * file fails with that file's reason.
 */
export async function loadSourceByName(dir: string, name: string): Promise<LoadedSource> {
  const scan = await scanSources(dir);
  const found = scan.sources.get(name);
  if (found !== undefined) return found.loaded;
  const broken = scan.broken.find((file) => file.name === name);
  if (broken !== undefined) {
    throw configInvalidError(broken.problems, { origin: broken.file, code: broken.code });
  }
  const names = [...scan.sources.keys()];
  const served =
    names.length === 0
      ? `no source is served from ${scan.dir}`
      : `the sources in ${scan.dir} are: ${names.join(', ')}`;
  throw configInvalidError(
    [{ path: 'source', message: `unknown source "${name}"${didYouMean(name, names)}; ${served}` }],
    { code: 'UNKNOWN_SOURCE' },
  );
}

/**
 * The credentials written inline in the file of source `name` (`collectInlineSecrets`), by their path in the file:
 * what the plan's `{ $inline: <path> }` references resolve to at run time.
 */
export async function loadInlineSecrets(
  dir: string,
  name: string,
): Promise<Readonly<Record<string, string>>> {
  const loaded = await loadSourceByName(dir, name);
  return collectInlineSecrets(loaded.config);
}

/** The candidate source files of a folder (absolute paths, sorted). */
async function listSourceFiles(folder: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch (error) {
    const code = String((error as { code?: unknown }).code);
    throw new IngestError(
      'environment',
      'SOURCES_DIR_UNREADABLE',
      `the sources folder ${folder} cannot be read (${code === 'ENOENT' ? 'it does not exist' : code})`,
      { details: { dir: folder } },
    );
  }
  const files: string[] = [];
  for (const entry of entries) {
    const name = entry.name;
    if (name.startsWith('.') || name.endsWith('.d.ts')) continue;
    if (!sourceFileExtensions.includes(extname(name).toLowerCase())) continue;
    const path = join(folder, name);
    if (entry.isFile() || (entry.isSymbolicLink() && (await isFile(path)))) files.push(path);
  }
  return files.sort();
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (info) => info.isFile(),
    () => false,
  );
}

type FileOutcome = RegisteredSource | BrokenSourceFile;

/** Reads and validates one file; anything wrong becomes a broken entry. */
async function loadFile(file: string): Promise<FileOutcome> {
  let name: string | undefined;
  try {
    const data = moduleExtensions.has(extname(file).toLowerCase())
      ? await importSourceModule(file)
      : await readSourceFile(file);
    name = nameOf(data);
    const validated = validateSourceConfig(data, { origin: file });
    return { name: validated.config.name, file, loaded: { ...validated, origin: file } };
  } catch (error) {
    return { file, name, ...reasonOf(error) };
  }
}

function nameOf(data: unknown): string | undefined {
  if (data === null || typeof data !== 'object') return undefined;
  const name = (data as { name?: unknown }).name;
  return typeof name === 'string' && name !== '' ? name : undefined;
}

function reasonOf(error: unknown): Pick<BrokenSourceFile, 'code' | 'problems'> {
  if (isIngestError(error)) {
    const problems = error.details['problems'];
    if (Array.isArray(problems) && problems.length > 0) {
      return { code: error.code, problems: problems as ConfigProblem[] };
    }
    return { code: error.code, problems: [{ path: '(file)', message: error.message }] };
  }
  return { code: 'CONFIG_INVALID', problems: [{ path: '(file)', message: describeError(error) }] };
}

/** Imported modules by file, kept while the file's modification time stays the same. */
const modules = new Map<string, { readonly mtimeMs: number; readonly exports: Record<string, unknown> }>();

/**
 * The config a TS/JS source module exports (`source`, else `default`). Imported afresh when the file changed: a
 * plain `import()` would serve the first version for the life of the process.
 */
async function importSourceModule(file: string): Promise<unknown> {
  const fail = (message: string) => configInvalidError([{ path: '(file)', message }], { origin: file });
  let exports: Record<string, unknown>;
  try {
    const { mtimeMs } = await stat(file);
    const cached = modules.get(file);
    if (cached?.mtimeMs === mtimeMs) {
      exports = cached.exports;
    } else {
      // Loaded here, not at the top: only a folder with TS/JS sources needs tsx, and a worker built to run without
      // it (`npm run build`) loads it only then.
      const { tsImport } = await import('tsx/esm/api');
      exports = (await tsImport(pathToFileURL(file).href, import.meta.url)) as Record<string, unknown>;
      modules.set(file, { mtimeMs, exports });
    }
  } catch (error) {
    throw fail(`cannot import the module: ${describeError(error).split('\n')[0] ?? 'unknown error'}`);
  }
  const missing = () => fail('the module has no `source` export (export const source = { name: …, … })');
  if ('source' in exports) return exports['source'];
  const fallback = exports['default'];
  // A module loaded as CommonJS (its folder has no package.json with "type": "module") arrives as `default`.
  if (
    fallback !== null &&
    typeof fallback === 'object' &&
    !Array.isArray(fallback) &&
    !('name' in fallback)
  ) {
    const inner = fallback as Record<string, unknown>;
    if ('source' in inner) return inner['source'];
    if ('default' in inner) return inner['default'];
    throw missing();
  }
  if ('default' in exports) return fallback;
  throw missing();
}
