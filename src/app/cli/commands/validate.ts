/**
 * `ingest validate [file…]`: reads and validates source files the way a worker does — every file of the sources
 * folder, or the files named — and prints every problem with its path in the file and the reason. No network.
 * Exit code 1 when any file is broken.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, extname, relative, resolve } from 'node:path';
import {
  scanSources,
  sourceFileExtensions,
  type BrokenSourceFile,
  type RegisteredSource,
} from '../../../config/registry.ts';
import { CliError, type RegisterCommand } from '../context.ts';

export const registerValidate: RegisterCommand = (program, context) => {
  program
    .command('validate')
    .description(
      'Validate source files (default: every file of the sources folder): each problem with its path and reason',
    )
    .argument('[file...]', 'source files to check (.yaml, .yml, .json, .ts, .js)')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  ingest validate                         # every file of the sources folder',
        '  ingest validate sources/messaging.yaml  # one file',
        '  ingest --sources ./my-sources validate',
        '',
        'Exit code: 0 every file is valid, 1 a file is broken. Nothing is requested from any API.',
      ].join('\n'),
    )
    .action(async (files: string[], options: { json?: boolean }) => {
      const ctx = context();
      const { valid, broken } =
        files.length === 0 ? await checkFolder(ctx.sourcesDir) : await checkFiles(files);
      const show = (file: string) => {
        const near = relative(process.cwd(), file);
        return near === '' || near.startsWith('..') ? file : near;
      };
      if (options.json === true) {
        ctx.print(
          JSON.stringify(
            {
              valid: valid.map((source) => ({
                name: source.name,
                file: source.file,
                resources: source.loaded.config.resources.length,
                warnings: source.loaded.warnings,
              })),
              broken,
            },
            null,
            2,
          ),
        );
      } else {
        for (const source of valid) {
          const count = source.loaded.config.resources.length;
          ctx.print(`ok      ${show(source.file)}: source ${source.name}, ${count} resources`);
          for (const warning of source.loaded.warnings) {
            ctx.print(`  warning ${warning.path}: ${warning.message}`);
          }
        }
        for (const file of broken) {
          ctx.print(`broken  ${show(file.file)}${file.name === undefined ? '' : ` (source ${file.name})`}:`);
          for (const problem of file.problems) ctx.print(`  ${problem.path}: ${problem.message}`);
        }
        if (valid.length === 0 && broken.length === 0) ctx.print('No source file found.');
      }
      if (broken.length > 0) {
        throw new CliError(`${broken.length} of ${valid.length + broken.length} source files are broken`, 1);
      }
    });
};

interface Checked {
  readonly valid: readonly RegisteredSource[];
  readonly broken: readonly BrokenSourceFile[];
}

async function checkFolder(dir: string): Promise<Checked> {
  const scan = await scanSources(dir);
  return { valid: [...scan.sources.values()], broken: scan.broken };
}

/**
 * Each file is checked as its folder serves it: a name another file of that folder uses too is a problem there,
 * as it is for a worker.
 */
async function checkFiles(files: readonly string[]): Promise<Checked> {
  const valid: RegisteredSource[] = [];
  const broken: BrokenSourceFile[] = [];
  const scans = new Map<string, Awaited<ReturnType<typeof scanSources>>>();
  for (const given of files) {
    const file = resolve(given);
    const problem = (message: string) =>
      broken.push({ file, name: undefined, code: 'CONFIG_INVALID', problems: [{ path: '(file)', message }] });
    if (!existsSync(file)) {
      problem('the file does not exist');
      continue;
    }
    if (!sourceFileExtensions.includes(extname(file).toLowerCase()) || basename(file).startsWith('.')) {
      problem(`not a source file: a source is a ${sourceFileExtensions.join(', ')} file (not a dotfile)`);
      continue;
    }
    const dir = dirname(file);
    const scan = scans.get(dir) ?? (await scanSources(dir));
    scans.set(dir, scan);
    const served = [...scan.sources.values()].find((source) => source.file === file);
    const failed = scan.broken.find((entry) => entry.file === file);
    if (served !== undefined) valid.push(served);
    else if (failed !== undefined) broken.push(failed);
    else problem('not read as a source file');
  }
  return { valid, broken };
}
