/**
 * Which sources a worker serves and how they reach their APIs, decided from the sources folder and the sources'
 * own configs — never from names in an entry point. `sourcesFromEnvironment` and `sourcesFromSandbox` bind them;
 * `surveySources` lists what the folder serves right now (resources, credential variables not set, broken files)
 * for the start-up log and `npm start`. Credentials are checked per run, by `planSource`: a worker starts whatever
 * is missing, and a source without its credentials fails its own runs only.
 */
import { basename } from 'node:path';
import { missingSecretVariables, resolvePlan } from '../activities/plan-source.ts';
import { configEnvVar, readEnv } from '../config/env.ts';
import { describeBroken, scanSources, type BrokenSourceFile } from '../config/registry.ts';
import { describeError } from '../errors.ts';
import type { Logger } from 'pino';
import type { Environment } from './settings.ts';

/** Where the sources of a worker come from, where they send their requests and where their credentials are. */
export interface SourceBindings {
  readonly env: Environment;
  /** The sources folder, rescanned by every run. */
  readonly sourcesDir: string;
  /** Base URLs per source that win over the sources' own (`client.base_url`, `<SOURCE>_BASE_URL`). */
  readonly baseUrls?: Readonly<Record<string, string>>;
  /** True when (some of) the sources are served by the sandbox API (recorded on each load). */
  readonly sandbox: boolean;
  /** The sources the sandbox serves, when it serves some: only their loads are recorded as sandbox loads. */
  readonly sandboxSources?: readonly string[];
}

/** What a sandbox offers the sources: its URL, a key per source it serves, and the config values it suggests. */
export interface SandboxOffer {
  readonly url: string;
  readonly keys: Readonly<Record<string, string>>;
  /** Per source, per config key: a value to bind as `<SOURCE>_CONFIG_<KEY>` (e.g. a test SMS recipient). */
  readonly configValues?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

/** The sources as their configs describe them: credentials and base URLs from the environment. */
export function sourcesFromEnvironment(env: Environment, sourcesDir: string): SourceBindings {
  return { env, sourcesDir, sandbox: false };
}

/**
 * Every source of the folder that the sandbox serves (it has a key for it) pointed at it: its base URL, each
 * credential variable its config names set to the sandbox's key for it, and the config values the sandbox suggests
 * for it (`sandbox.configValues[source][key]`, as `<SOURCE>_CONFIG_<KEY>`) unless the environment sets them. Every
 * other source keeps its own base URL and credentials.
 */
export async function sourcesFromSandbox(
  sandbox: SandboxOffer,
  env: Environment,
  sourcesDir: string,
): Promise<SourceBindings> {
  const { sources } = await scanSources(sourcesDir);
  const suggested = suggestedConfigValues(sandbox);
  const credentials: Record<string, string> = {};
  const values: Record<string, string> = {};
  const baseUrls: Record<string, string> = {};
  for (const [source, registered] of sources) {
    const key = sandbox.keys[source];
    if (key === undefined) continue;
    baseUrls[source] = sandbox.url;
    for (const [name, value] of Object.entries(suggested[source] ?? {})) {
      const variable = configEnvVar(source, name);
      if (readEnv(env, variable) === undefined) values[variable] = value;
    }
    try {
      const plan = resolvePlan(registered.loaded, { source }, { env: { ...env, ...values }, baseUrls });
      for (const variable of plan.secretVariables) credentials[variable] = key;
    } catch {
      // A source that cannot be planned fails its runs with the reason; the start-up survey reports it too.
    }
  }
  return {
    env: { ...env, ...values, ...credentials },
    sourcesDir,
    baseUrls,
    sandbox: true,
    sandboxSources: Object.keys(baseUrls),
  };
}

/** The config values a sandbox suggests per source, text only (anything else counts as not suggested). */
function suggestedConfigValues(sandbox: SandboxOffer): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const [source, values] of Object.entries(sandbox.configValues ?? {})) {
    const texts = Object.entries(values).filter(
      (entry): entry is [string, string] => typeof entry[1] === 'string' && entry[1] !== '',
    );
    out[source] = Object.fromEntries(texts);
  }
  return out;
}

/** One source the folder serves, as a worker sees it. */
export interface SurveyedSource {
  readonly name: string;
  readonly file: string;
  /** The resources of a full run (0 when it cannot be planned). */
  readonly resources: number;
  /** Their names (none when it cannot be planned). */
  readonly resourceNames: readonly string[];
  /** Its credential variables that are not set: its runs fail until they are (names only). */
  readonly missingCredentials: readonly string[];
  /** True when it is pointed at the sandbox API. */
  readonly sandbox: boolean;
  /** Why it cannot be planned with this environment (e.g. no base URL), when it cannot. */
  readonly problem: string | undefined;
}

export interface SourceSurvey {
  readonly dir: string;
  readonly served: readonly SurveyedSource[];
  readonly broken: readonly BrokenSourceFile[];
}

/** What the sources folder serves now, planned with the bindings' environment and base URLs. */
export async function surveySources(bindings: SourceBindings): Promise<SourceSurvey> {
  const scan = await scanSources(bindings.sourcesDir);
  const served = [...scan.sources.values()].map(({ name, file, loaded }): SurveyedSource => {
    const sandbox = bindings.baseUrls?.[name] !== undefined && bindings.sandbox;
    try {
      const plan = resolvePlan(loaded, { source: name }, bindings);
      const missingCredentials = missingSecretVariables(plan, bindings.env);
      return {
        name,
        file,
        resources: plan.resources.length,
        resourceNames: plan.resources.map((resource) => resource.name),
        missingCredentials,
        sandbox,
        problem: undefined,
      };
    } catch (error) {
      return {
        name,
        file,
        resources: 0,
        resourceNames: [],
        missingCredentials: [],
        sandbox,
        problem: describeError(error),
      };
    }
  });
  return { dir: scan.dir, served, broken: scan.broken };
}

/** Logs a survey: one line per source served and per broken file, and a loud warning when nothing is served. */
export function logSurvey(survey: SourceSurvey, log: Logger): void {
  for (const source of survey.served) {
    const facts = {
      source: source.name,
      file: source.file,
      resources: source.resources,
      missingCredentials: source.missingCredentials,
      ...(source.sandbox ? { sandbox: true } : {}),
    };
    if (source.problem !== undefined) {
      log.warn(
        { ...facts, problem: source.problem },
        `source ${source.name}: cannot be planned: ${source.problem}`,
      );
    } else if (source.missingCredentials.length > 0) {
      log.warn(
        facts,
        `source ${source.name}: serving ${source.resources} resources from ${source.file}; its runs fail until ` +
          `${source.missingCredentials.join(', ')} ${source.missingCredentials.length === 1 ? 'is' : 'are'} set`,
      );
    } else {
      log.info(facts, `source ${source.name}: serving ${source.resources} resources from ${source.file}`);
    }
  }
  for (const broken of survey.broken) {
    log.error(
      { file: broken.file, name: broken.name, code: broken.code, problems: broken.problems },
      `broken source file ${broken.file}, not served: ${describeBroken(broken)}`,
    );
  }
  if (survey.served.length === 0) {
    log.warn(
      { dir: survey.dir, broken: survey.broken.length },
      `NO SOURCE IS SERVED: ${survey.dir} holds no valid source file; every run fails until one is added ` +
        '(docs/config.md, "Adding a source")',
    );
  }
}

/** A source `npm start` does not run, and why. */
export interface NotRun {
  readonly source: string;
  readonly reason: string;
}

/**
 * What `npm start` runs: every source pointed at the sandbox, and every other source whose credentials are all set
 * (against its own base URL). The rest — credentials not set, not plannable, broken files — is listed with why.
 */
export function chooseStartRuns(survey: SourceSurvey): {
  readonly run: readonly string[];
  readonly notRun: readonly NotRun[];
} {
  const run: string[] = [];
  const notRun: NotRun[] = [];
  for (const source of survey.served) {
    if (source.problem !== undefined) {
      notRun.push({ source: source.name, reason: `cannot be planned: ${firstLine(source.problem)}` });
    } else if (!source.sandbox && source.missingCredentials.length > 0) {
      notRun.push({
        source: source.name,
        reason: `not served by the sandbox, and ${source.missingCredentials.join(', ')} not set`,
      });
    } else {
      run.push(source.name);
    }
  }
  for (const broken of survey.broken) {
    notRun.push({
      source: broken.name ?? basename(broken.file),
      reason: `broken file ${broken.file}: ${describeBroken(broken)}`,
    });
  }
  return { run, notRun };
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}
