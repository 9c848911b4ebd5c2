/**
 * Loading a source config from a YAML file, a JSON file, a TS/JS module (named export `source`; a `default` export
 * is accepted for users' modules) or an object already in memory. Reading is strict — duplicate YAML keys, unknown
 * YAML tags and unresolved aliases are errors — and messages give a line and column, never the text around it
 * (it may hold a credential). The result is validated; the caller's object is never mutated.
 */
import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { LineCounter, parseDocument } from 'yaml';
import { validateSourceConfig } from './analyse.ts';
import { configInvalidError, type ConfigWarning } from './problems.ts';
import type { SourceConfig } from './schema.ts';

/** A loaded, validated source. */
export interface LoadedSource {
  readonly config: SourceConfig;
  readonly warnings: readonly ConfigWarning[];
  /** The file it came from, or `object`. */
  readonly origin: string;
}

const yamlExtensions = new Set(['.yaml', '.yml']);
const moduleExtensions = new Set(['.ts', '.mts', '.js', '.mjs']);

function readError(origin: string, message: string): Error {
  return configInvalidError([{ path: '(file)', message }], { origin });
}

function parseYaml(text: string, origin: string): unknown {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { prettyErrors: true, lineCounter, uniqueKeys: true });
  const faults = [...document.errors, ...document.warnings];
  if (faults.length > 0) {
    throw configInvalidError(
      faults.map((fault) => ({
        path: '(file)',
        // The first line only: prettyErrors appends the source text around the fault.
        message: `YAML ${fault.code}: ${fault.message.split('\n')[0]?.replace(/:$/, '') ?? ''}`,
      })),
      { origin },
    );
  }
  try {
    return document.toJS({ maxAliasCount: 100 }) as unknown;
  } catch (error) {
    throw readError(origin, `YAML: ${error instanceof Error ? error.message.split('\n')[0] : 'unreadable'}`);
  }
}

function parseJson(text: string, origin: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const message = error instanceof Error ? error.message : '';
    const position = /position (\d+)/.exec(message)?.[1];
    let where = '';
    if (position !== undefined) {
      const before = text.slice(0, Number(position));
      const line = before.split('\n').length;
      where = ` at line ${line}, column ${Number(position) - before.lastIndexOf('\n')}`;
    }
    // V8 quotes the input after the first comma (`Unexpected token 'h', ..."<text>"...`): keep only the reason.
    const reason = message.split(/,| in JSON/)[0] ?? 'invalid JSON';
    throw readError(origin, `invalid JSON${where}: ${reason}`);
  }
}

async function importModule(path: string, origin: string): Promise<unknown> {
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    throw readError(
      origin,
      `cannot import the module: ${error instanceof Error ? error.message.split('\n')[0] : 'unknown error'}`,
    );
  }
  if ('source' in module) return module['source'];
  if ('default' in module) return module['default'];
  throw readError(origin, 'the module has no `source` export (export const source = { … })');
}

/** Reads a source file as data (not yet validated). */
export async function readSourceFile(file: string | URL): Promise<unknown> {
  const path = typeof file === 'string' ? resolve(file) : fileURLToPath(file);
  const extension = extname(path).toLowerCase();
  if (moduleExtensions.has(extension)) return importModule(path, path);
  if (!yamlExtensions.has(extension) && extension !== '.json') {
    throw readError(path, `unsupported file type "${extension}": use .yaml, .yml, .json, .ts or .js`);
  }
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw readError(path, code === 'ENOENT' ? 'file not found' : `cannot read the file (${String(code)})`);
  }
  return extension === '.json' ? parseJson(text, path) : parseYaml(text, path);
}

/**
 * Loads and validates a source: a path or file URL (YAML, JSON, TS/JS module) or an object. Throws
 * `CONFIG_INVALID` listing every problem; returns the validated copy and its warnings.
 */
export async function loadSourceConfig(input: string | URL | object): Promise<LoadedSource> {
  if (typeof input === 'string' || input instanceof URL) {
    const origin = typeof input === 'string' ? resolve(input) : fileURLToPath(input);
    const data = await readSourceFile(input);
    return { ...validateSourceConfig(data, { origin }), origin };
  }
  return { ...validateSourceConfig(input), origin: 'object' };
}
