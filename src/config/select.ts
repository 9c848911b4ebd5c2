/**
 * Which resources a run executes, and in which order. Selection rule: asking for a child also runs its parent (and
 * the parent's parent, …) unless the parent has side effects (`side_effects: true`, e.g. `sms`, which sends a
 * message): such a parent is never run implicitly, and the child reads the parent's records from storage. A parent
 * run implicitly but skipped for a missing config value also leaves the child reading stored records.
 */
import type { AnalysedResource } from './analyse-resource.ts';
import type { SourceAnalysis } from './analyse.ts';
import type { ResolvedResource } from '../shared/plan.ts';
import { configInvalidError, didYouMean, type ConfigProblem } from './problems.ts';

/** What a selection is asked for: `only` these resources (default: every one not `selected: false`). */
export interface SelectionRequest {
  readonly only?: readonly string[] | undefined;
  /** Where the config came from, for messages. */
  readonly origin?: string | undefined;
}

/**
 * A resource whose request may be sent again — paginated, retried, run implicitly as a parent: every resource not
 * marked `side_effects: true`, whatever its method, body or config values (as in dlt).
 */
export function isRepeatable(analysed: AnalysedResource): boolean {
  return analysed.resource.side_effects !== true;
}

/** The selected resources by name, with why each is selected; an unknown or empty `only` throws `SELECTION_INVALID`. */
export function selectResources(
  analysis: SourceAnalysis,
  options: SelectionRequest,
): Map<string, ResolvedResource['selection']> {
  const byName = new Map(analysis.resources.map((analysed) => [analysed.resource.name, analysed]));
  const names = [...byName.keys()];
  const selection = new Map<string, ResolvedResource['selection']>();
  if (options.only !== undefined) {
    const problems: ConfigProblem[] = options.only.flatMap((name, index) =>
      byName.has(name)
        ? []
        : [
            {
              path: `only[${index}]`,
              message: `unknown resource "${name}"${didYouMean(name, names)}; source ${analysis.config.name} has: ${names.join(', ')}`,
            },
          ],
    );
    if (options.only.length === 0) {
      problems.push({ path: 'only', message: `empty: name at least one of ${names.join(', ')}` });
    }
    if (problems.length > 0)
      throw configInvalidError(problems, { origin: options.origin, code: 'SELECTION_INVALID' });
    for (const name of options.only) selection.set(name, 'requested');
  } else {
    for (const analysed of analysis.resources) {
      if (analysed.resource.selected !== false) selection.set(analysed.resource.name, 'default');
    }
  }
  for (const name of [...selection.keys()]) {
    let current = byName.get(name);
    while (current?.parent != null) {
      const parent = byName.get(current.parent.name);
      if (parent === undefined || selection.has(parent.resource.name) || !isRepeatable(parent)) break;
      selection.set(parent.resource.name, 'parent');
      current = parent;
    }
  }
  return selection;
}

/** Selected resources, parents before children, otherwise in file order. */
export function orderResources(
  analysis: SourceAnalysis,
  selection: ReadonlyMap<string, unknown>,
): AnalysedResource[] {
  const byName = new Map(analysis.resources.map((analysed) => [analysed.resource.name, analysed]));
  const ordered: AnalysedResource[] = [];
  const visit = (analysed: AnalysedResource): void => {
    if (ordered.includes(analysed)) return;
    const parent = analysed.parent === null ? undefined : byName.get(analysed.parent.name);
    if (parent !== undefined && selection.has(parent.resource.name)) visit(parent);
    ordered.push(analysed);
  };
  for (const analysed of analysis.resources) if (selection.has(analysed.resource.name)) visit(analysed);
  return ordered;
}
