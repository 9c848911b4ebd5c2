/**
 * The layer rules of `eslint.config.js` catch what they are for: a deliberate violation of each is reported, an
 * allowed import is not, and an import cycle is found. Linted with ESLint's own API on probe text placed in each
 * layer (the probes are never written into src/).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ESLint, type Linter } from 'eslint';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';
import { afterAll, describe, expect, it } from 'vitest';
import { importSettings, layerZones } from '../../../eslint.config.js';
import { projectRoot } from '../../../src/local/paths.ts';

const config: Linter.Config[] = [
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    plugins: { 'import-x': importX },
    settings: importSettings,
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-restricted-paths': ['error', { zones: layerZones }],
    },
  },
];
const eslint = new ESLint({ cwd: projectRoot, overrideConfigFile: true, overrideConfig: config });

/** The rule ids ESLint reports for `code` as if it were the file `path` (relative to the repository). */
async function ruleIds(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(projectRoot, path) });
  return (result?.messages ?? []).map((message) => message.ruleId ?? `fatal: ${message.message}`);
}

const forbidden: readonly (readonly [string, string, string])[] = [
  ['http ↛ db', 'src/http/probe.ts', "import { createDatabase } from '../db/database.ts';"],
  ['db ↛ http', 'src/db/probe.ts', "import { createHttpClient } from '../http/client.ts';"],
  ['db ↛ local', 'src/db/probe.ts', "import { projectRoot } from '../local/paths.ts';"],
  ['config ↛ db', 'src/config/probe.ts', "import type { Database } from '../db/schema.ts';"],
  [
    'config ↛ activities',
    'src/config/probe.ts',
    "import { planSource } from '../activities/plan-source.ts';",
  ],
  ['activities ↛ app', 'src/activities/probe.ts', "import { readSettings } from '../app/settings.ts';"],
  [
    'workflows ↛ config (types too)',
    'src/workflows/probe.ts',
    "import type { LoadedSource } from '../config/load.ts';",
  ],
  [
    'workflows ↛ activities (types too)',
    'src/workflows/probe.ts',
    "import type { Activities } from '../activities/index.ts';",
  ],
  ['sandbox ↛ the product', 'src/sandbox/probe.ts', "import { IngestError } from '../errors.ts';"],
  ['shared ↛ config', 'src/shared/probe.ts', "import type { LoadedSource } from '../config/load.ts';"],
  [
    'db/tables ↛ db/staging',
    'src/db/tables/probe.ts',
    "import { prepareStaging } from '../staging/prepare.ts';",
  ],
  ['db/staging ↛ db/merge', 'src/db/staging/probe.ts', "import { mergeStaged } from '../merge/merge.ts';"],
  ['db/ledger ↛ db/merge', 'src/db/ledger/probe.ts', "import { mergeStaged } from '../merge/merge.ts';"],
  ['local ↛ db', 'src/local/probe.ts', "import { createDatabase } from '../db/database.ts';"],
  ['activities ↛ local', 'src/activities/probe.ts', "import { projectRoot } from '../local/paths.ts';"],
  [
    'http ↛ telemetry',
    'src/http/probe.ts',
    "import { noIngestMetrics } from '../telemetry/ingest-metrics.ts';",
  ],
  ['db ↛ telemetry', 'src/db/probe.ts', "import { inSpan } from '../telemetry/spans.ts';"],
  [
    'telemetry ↛ activities',
    'src/telemetry/probe.ts',
    "import { observeAttempt } from '../activities/observe.ts';",
  ],
  [
    'postgres-connection ↛ local',
    'src/postgres-connection.ts',
    "import { loopback } from './local/ports.ts';",
  ],
  [
    'postgres-connection ↛ db',
    'src/postgres-connection.ts',
    "import type { Database } from './db/schema.ts';",
  ],
  ['src ↛ test', 'src/app/probe.ts', "import { withTemporal } from '../../test/helpers/temporal.ts';"],
  ['migrations ↛ src', 'migrations/probe.ts', "import { createDatabase } from '../src/db/database.ts';"],
];

const allowed: readonly (readonly [string, string, string])[] = [
  ['activities → db', 'src/activities/probe.ts', "import type { Database } from '../db/schema.ts';"],
  ['activities → http', 'src/activities/probe.ts', "import { createHttpClient } from '../http/client.ts';"],
  ['http → config', 'src/http/probe.ts', "import type { LoadedSource } from '../config/load.ts';"],
  [
    'http → shared records',
    'src/http/probe.ts',
    "import type { ExtractedRecord } from '../shared/records.ts';",
  ],
  ['db → shared records', 'src/db/probe.ts', "import type { ExtractedRecord } from '../shared/records.ts';"],
  [
    'workflows → shared',
    'src/workflows/probe.ts',
    "import type { LoadReport } from '../shared/ingest-types.ts';",
  ],
  [
    'db/merge → db/staging',
    'src/db/merge/probe.ts',
    "import { prepareStaging } from '../staging/prepare.ts';",
  ],
  ['db/staging → the top of db', 'src/db/staging/probe.ts', "import type { Database } from '../schema.ts';"],
  ['app → everything', 'src/app/probe.ts', "import { startLocalStack } from '../local/stack.ts';"],
  ['activities → telemetry', 'src/activities/probe.ts', "import { inSpan } from '../telemetry/spans.ts';"],
  [
    'local → postgres-connection',
    'src/local/probe.ts',
    "import { postgresClientConfig } from '../postgres-connection.ts';",
  ],
  [
    'db → postgres-connection',
    'src/db/probe.ts',
    "import { postgresClientConfig } from '../postgres-connection.ts';",
  ],
  [
    'activities → the source registry (config)',
    'src/activities/probe.ts',
    "import { loadSourceByName } from '../config/registry.ts';",
  ],
];

describe('the layer rules', () => {
  it.each(forbidden)('report %s', async (_name, path, code) => {
    expect(await ruleIds(path, code)).toEqual(['import-x/no-restricted-paths']);
  });

  it.each(allowed)('allow %s', async (_name, path, code) => {
    expect(await ruleIds(path, code)).toEqual([]);
  });
});

/** Lints a file on disk, from its own folder (ESLint ignores files outside its working directory). */
async function lintedRuleIds(dir: string, file: string): Promise<string[]> {
  const linter = new ESLint({ cwd: dir, overrideConfigFile: true, overrideConfig: config });
  const [result] = await linter.lintFiles([join(dir, file)]);
  return (result?.messages ?? []).map((message) => message.ruleId ?? `fatal: ${message.message}`);
}

describe('the cycle rule', () => {
  const dirs: string[] = [];
  afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

  it('reports two modules that import each other', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lint-cycle-'));
    dirs.push(dir);
    await writeFile(join(dir, 'a.ts'), "import { b } from './b.ts';\nexport const a = () => b;\n");
    await writeFile(join(dir, 'b.ts'), "import { a } from './a.ts';\nexport const b = () => a;\n");
    expect(await lintedRuleIds(dir, 'a.ts')).toEqual(['import-x/no-cycle']);
  });

  it('finds none in a chain that does not close', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lint-chain-'));
    dirs.push(dir);
    await writeFile(join(dir, 'a.ts'), "import { b } from './b.ts';\nexport const a = () => b;\n");
    await writeFile(join(dir, 'b.ts'), 'export const b = 1;\n');
    expect(await lintedRuleIds(dir, 'a.ts')).toEqual([]);
  });
});
