/**
 * The production worker as built JavaScript: `buildWorker()` bundles `src/app/worker.ts` and every module of ours it
 * imports into `dist/worker.js` with esbuild (a dependency of the project: `npm ci` installs it). A worker started
 * from it runs without tsx's loader — a thread with an isolate of its own, plus the transpiled sources it caches —
 * which is most of what a development worker (`npm run worker`) holds more at idle (docs/operations.md, "Memory").
 *
 * Packages stay imports of node_modules, not copies: the Temporal SDK finds its native module, its workflow thread
 * and its bundler beside itself. Modules keep their locations: each module's `import.meta.url` is rewritten to its
 * source file's URL, relative to the bundle, so what they find beside themselves (the shipped sources folder, the
 * migrations, the failure converter, the workflow code the bundler reads) is found as under tsx, in the same checkout.
 * That rewrite is relative to the output folder, so every output is written in it: the chunks of the dynamic imports,
 * which stay lazy (code splitting: the tracing SDK is loaded only by a worker that traces), lie beside `worker.js`.
 * The migrations are built beside it (`dist/migrations/`) for the schema check at start-up: importing their
 * TypeScript would load tsx after all, once per file. The built entry compares their names with the checkout's
 * `migrations/` at start and refuses to run when they differ (a pull that added one, not rebuilt).
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { build, type OutputFile, type Plugin } from 'esbuild';
import { projectRoot } from '../src/local/paths.ts';

/** Where the build goes (git-ignored): `dist/worker.js`, its chunks, and the workflow bundle beside them. */
export const distDir: string = join(projectRoot, 'dist');

/**
 * The file names esbuild gives chunks, and their source maps: `<name>-<hash>.js`, `chunk-<hash>.js` for code shared by
 * several (`chunkNames` below), `tracing-<hash>.js` for a dynamically imported module of its own.
 */
const chunkFile = /^[\w.-]+-[A-Z0-9]{8}\.js(\.map)?$/;

/**
 * Builds `<outdir>/worker.js` (default `dist/`), its lazily loaded chunks and the migrations from the current sources;
 * returns the entry's path.
 */
export async function buildWorker(outdir: string = distDir): Promise<string> {
  const migrations = join(projectRoot, 'migrations');
  const builtMigrations = await build({
    entryPoints: (await readdir(migrations))
      .filter((file) => file.endsWith('.ts'))
      .map((file) => join(migrations, file)),
    outdir: join(outdir, 'migrations'),
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
    write: false,
  });
  const builtWorker = await build({
    // The entry runs `main` itself: the worker module's own "am I the entry?" check compares against its source path.
    // Its own `import.meta.url` is the bundle's (only our modules' are rewritten): `migrations/` beside it.
    stdin: {
      contents: [
        "import { fileURLToPath } from 'node:url';",
        "import { main } from './src/app/worker.ts';",
        "import { migrationsFolder } from './src/local/paths.ts';",
        "const built = fileURLToPath(new URL('./migrations', import.meta.url));",
        'process.exitCode = await main(process.argv.slice(2), "node dist/worker.js", {',
        '  migrationsFolder: built,',
        '  builtFrom: migrationsFolder,',
        '});',
      ].join('\n'),
      resolveDir: projectRoot,
      sourcefile: 'dist-worker-entry.ts',
      loader: 'ts',
    },
    outdir,
    entryNames: 'worker',
    chunkNames: '[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    // `worker.js.map` beside it, for `--enable-source-maps`: stacks name the files of src/. Without the sources'
    // text, which the checkout has: the map is parsed when the worker loads, so its size is memory held.
    sourcemap: 'linked',
    sourcesContent: false,
    logLevel: 'warning',
    plugins: [sourceLocations(outdir)],
    write: false,
  });
  // Written only once both built: a failed build leaves the last good one whole. The last build's chunks and
  // migrations go first, so that the folder holds this build's only.
  await mkdir(outdir, { recursive: true });
  const stale = (await readdir(outdir)).filter((file) => chunkFile.test(file));
  await Promise.all([
    rm(join(outdir, 'migrations'), { recursive: true, force: true }),
    ...stale.map((file) => rm(join(outdir, file), { force: true })),
  ]);
  await writeOutputs([...builtMigrations.outputFiles, ...builtWorker.outputFiles]);
  return join(outdir, 'worker.js');
}

/**
 * The node arguments of the production start: the `worker:prod` script of package.json (the command the README
 * gives), its `node` left out, with `nodeArgs` before the script and `args` after its own; paths under `dist/` are
 * taken from `outdir` instead (a build of `buildWorker(outdir)`).
 */
export async function productionWorkerArgs(
  options: {
    readonly nodeArgs?: readonly string[];
    readonly args?: readonly string[];
    readonly outdir?: string;
  } = {},
): Promise<string[]> {
  const manifest = JSON.parse(await readFile(join(projectRoot, 'package.json'), 'utf8')) as {
    scripts: Record<string, string | undefined>;
  };
  const [node, ...words] = (manifest.scripts['worker:prod'] ?? '').split(/\s+/);
  const script = words.indexOf('dist/worker.js');
  if (node !== 'node' || script < 0) {
    throw new Error('package.json has no `worker:prod` script of the form `node … dist/worker.js …`');
  }
  const located = words.map((word) =>
    word.startsWith('dist/') ? join(options.outdir ?? distDir, word.slice('dist/'.length)) : word,
  );
  return [
    ...located.slice(0, script),
    ...(options.nodeArgs ?? []),
    ...located.slice(script),
    ...(options.args ?? []),
  ];
}

async function writeOutputs(files: readonly OutputFile[]): Promise<void> {
  for (const file of files) {
    await mkdir(dirname(file.path), { recursive: true });
    await writeFile(file.path, file.contents);
  }
}

/** Rewrites `import.meta.url` in our modules to the URL of their source file, relative to the bundle's folder. */
function sourceLocations(outdir: string): Plugin {
  const src = join(projectRoot, 'src') + sep;
  return {
    name: 'source-locations',
    setup(builder) {
      builder.onLoad({ filter: /\.[cm]?[jt]s$/ }, async (args) => {
        if (!args.path.startsWith(src)) return undefined;
        const text = await readFile(args.path, 'utf8');
        if (!text.includes('import.meta.url')) return undefined;
        const fromBundle = relative(outdir, args.path).split(sep).join('/');
        return {
          contents: text.replaceAll(
            'import.meta.url',
            `new URL(${JSON.stringify(fromBundle)}, import.meta.url).href`,
          ),
          loader: args.path.endsWith('.ts') ? 'ts' : 'js',
        };
      });
    },
  };
}
