/**
 * The per-resource parts of a run's input, checked against its plan before anything loads: `window` (another window
 * for this run only, per resource) and `reset` (resources that start again from `initial_value`) may name only
 * incremental resources of the run, with cursor values (text or numbers), and not both for one resource;
 * `allowDeletes` only resources that replace or detect deletions; `acknowledgeSends` only resources with side effects. A bad
 * input is a non-retryable `config` error (`RUN_INPUT_INVALID`) that says what is allowed.
 */
import { IngestError } from '../errors.ts';
import type { IngestSourceInput } from '../shared/ingest-types.ts';
import type { ResolvedSource } from '../shared/plan.ts';

/** Throws when `input.window` or `input.reset` does not fit `plan`. */
export function checkRunInput(input: IngestSourceInput, plan: ResolvedSource): void {
  const problems: string[] = [];
  const incremental = new Set(
    plan.resources.filter((r) => r.endpoint?.incremental != null).map((r) => r.name),
  );
  const named = (what: string, name: string) => {
    if (incremental.has(name)) return true;
    const known = plan.resources.some((r) => r.name === name);
    problems.push(
      `${what} names ${known ? 'the resource' : 'no resource of this run:'} "${name}"${known ? ', which is not incremental' : ''}`,
    );
    return false;
  };
  const window: unknown = input.window;
  if (window !== undefined) {
    if (window === null || typeof window !== 'object' || Array.isArray(window)) {
      problems.push('window must be an object: {"<resource>": {"start": …, "end": …}}');
    } else {
      for (const [name, bounds] of Object.entries(window as Record<string, unknown>)) {
        if (!named('window', name)) continue;
        if (bounds === null || typeof bounds !== 'object' || Array.isArray(bounds)) {
          problems.push(`window.${name} must be {"start": …, "end": …}`);
          continue;
        }
        for (const [key, value] of Object.entries(bounds as Record<string, unknown>)) {
          if (key !== 'start' && key !== 'end')
            problems.push(`window.${name}.${key}: only start and end are allowed`);
          else if (typeof value !== 'string' && typeof value !== 'number') {
            problems.push(`window.${name}.${key} must be a cursor value (text or a number)`);
          }
        }
      }
    }
  }
  const reset: unknown = input.reset;
  if (reset !== undefined) {
    if (!Array.isArray(reset) || reset.some((r) => typeof r !== 'string')) {
      problems.push('reset must be a list of resource names');
    } else {
      for (const name of reset as string[]) {
        if (!named('reset', name)) continue;
        if (window !== null && typeof window === 'object' && Object.hasOwn(window, name)) {
          problems.push(
            `"${name}" is both in reset and in window: a backfill window leaves the cursor as it is`,
          );
        }
      }
    }
  }
  const allowDeletes: unknown = input.allowDeletes;
  if (allowDeletes !== undefined) {
    if (!Array.isArray(allowDeletes) || allowDeletes.some((r) => typeof r !== 'string')) {
      problems.push('allowDeletes must be a list of resource names');
    } else {
      for (const name of allowDeletes as string[]) {
        const resource = plan.resources.find((r) => r.name === name);
        if (resource === undefined) problems.push(`allowDeletes names no resource of this run: "${name}"`);
        else if (resource.writeDisposition !== 'replace' && !resource.deletionDetection) {
          problems.push(`allowDeletes names "${name}", which neither replaces nor detects deletions`);
        }
      }
    }
  }
  const acknowledged: unknown = input.acknowledgeSends;
  if (acknowledged !== undefined) {
    if (!Array.isArray(acknowledged) || acknowledged.some((r) => typeof r !== 'string')) {
      problems.push('acknowledgeSends must be a list of resource names');
    } else {
      for (const name of acknowledged as string[]) {
        const resource = plan.resources.find((r) => r.name === name);
        if (resource === undefined)
          problems.push(`acknowledgeSends names no resource of this run: "${name}"`);
        else if (resource.repeatable)
          problems.push(`acknowledgeSends names "${name}", which has no side effects`);
      }
    }
  }
  if (problems.length === 0) return;
  throw new IngestError(
    'config',
    'RUN_INPUT_INVALID',
    `source ${plan.source}: ${problems.join('; ')}` +
      (incremental.size === 0
        ? ' (it has no incremental resource)'
        : ` (incremental: ${[...incremental].join(', ')})`),
    { retryable: false, details: { source: plan.source } },
  );
}
