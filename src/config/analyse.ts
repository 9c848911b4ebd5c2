/**
 * Whole-source validation: the input is copied as plain data, checked against the schema, merged with
 * `resource_defaults`, then checked across resources — duplicate names and tables, template bindings, parents
 * (one per resource, known, no cycle), and the combinations we refuse (deletion detection on parent- or
 * parameter-dependent resources, `merge` without a primary key, the rules of `include_from_parent`, `side_effects`
 * and `poll`). Every configuration error knowable before a request is found here, when a file is loaded. Every problem is collected before one error is thrown, secrets masked.
 * The analysis it returns is what `resolve.ts` turns into a plan.
 */
import { analyseResource, type AnalysedResource } from './analyse-resource.ts';
import { checkAcrossResources } from './cross-checks.ts';
import { problemsFromIssues } from './issues.ts';
import { checkScheduleResources } from './schedule.ts';
import { checkResourceRules } from './resource-rules.ts';
import { toPlainData } from './plain-data.ts';
import { configInvalidError, maskProblems, type ConfigProblem, type ConfigWarning } from './problems.ts';
import { sourceConfigSchema, type SourceConfig } from './schema.ts';
import { findLiteralSecrets, type LiteralSecret } from './secrets.ts';
import { collectConfigWarnings } from './warnings.ts';

export interface SourceAnalysis {
  readonly config: SourceConfig;
  readonly resources: readonly AnalysedResource[];
  readonly warnings: readonly ConfigWarning[];
  /** Credentials written inline (their values are masked in every message). */
  readonly literalSecrets: readonly LiteralSecret[];
}

/** A validated source file and its warnings. */
export interface ValidatedSource {
  readonly config: SourceConfig;
  readonly warnings: readonly ConfigWarning[];
}

/**
 * Validates a source config (parsed YAML/JSON or a TS object; never mutated: the result is a copy). Throws one
 * `IngestError` (`config`/`CONFIG_INVALID`) listing every problem with its path; secrets are masked.
 */
export function validateSourceConfig(
  input: unknown,
  options: { readonly origin?: string } = {},
): ValidatedSource {
  const { config, warnings } = analyseSource(input, options);
  return { config, warnings };
}

/**
 * Validates a source config (any value: parsed YAML/JSON or a TS object, never mutated) and analyses it. Throws one
 * `IngestError` (`config`/`CONFIG_INVALID`) listing every problem with its path; secrets are masked.
 */
export function analyseSource(input: unknown, options: { readonly origin?: string } = {}): SourceAnalysis {
  const plain = toPlainData(input);
  const literalSecrets = findLiteralSecrets(plain.value);
  const secretValues = literalSecrets.map((secret) => secret.value);
  const fail = (problems: readonly ConfigProblem[]): never => {
    throw configInvalidError(maskProblems(problems, secretValues), { origin: options.origin });
  };

  const parsed = sourceConfigSchema.safeParse(plain.value);
  const schemaProblems = [
    ...plain.problems,
    ...(parsed.success ? [] : problemsFromIssues(parsed.error.issues, plain.value, plain.offendingPaths)),
  ];
  if (!parsed.success || schemaProblems.length > 0) return fail(schemaProblems);
  const config = parsed.data as SourceConfig;

  const problems: ConfigProblem[] = [];
  const resources = config.resources.map((entry, index) => analyseResource(config, entry, index, problems));
  checkAcrossResources(resources, problems);
  for (const analysed of resources) checkResourceRules(analysed, config, problems);
  checkScheduleResources(
    config,
    resources.map((analysed) => analysed.resource.name),
    problems,
  );
  if (problems.length > 0) return fail(problems);

  const warnings = maskProblems(collectConfigWarnings(config, resources, literalSecrets), secretValues);
  return { config, resources, warnings, literalSecrets };
}
