/**
 * The requester of one planned resource, for an activity: credentials resolved here, at run time — from the
 * environment (`$env`), or, for a credential written inline in the source file (`$inline`, discouraged), from the
 * file as it is now (the plan holds only where it is) — never from the workflow's input.
 */
import type { OpenedResource } from '../http/resource-request.ts';
import { openResource } from '../http/resource-request.ts';
import type { HttpClient } from '../http/client.ts';
import { loadInlineSecrets, shippedSourcesDir } from '../config/registry.ts';
import type { ResolvedResource } from '../shared/plan.ts';
import { singleResourcePlan } from './resource-run.ts';

export interface RequesterDeps {
  readonly client: HttpClient;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Where the source files are (default: the shipped `sources/`): read only for `$inline` credentials. */
  readonly sourcesDir?: string | undefined;
}

/** Opens the resource's requester (or reports it skipped), reading inline credentials only when it has some. */
export async function openPlannedResource(
  input: {
    readonly source: string;
    readonly baseUrl: string;
    readonly planHash: string;
    readonly resource: ResolvedResource;
  },
  deps: RequesterDeps,
): Promise<OpenedResource> {
  const inline = usesInlineSecrets(input.resource)
    ? await loadInlineSecrets(deps.sourcesDir ?? shippedSourcesDir, input.source)
    : undefined;
  return openResource(singleResourcePlan(input), input.resource.name, {
    client: deps.client,
    env: deps.env,
    ...(inline === undefined ? {} : { inline }),
  });
}

/** True when the resource's request refers to a credential written in the source file. */
function usesInlineSecrets(resource: ResolvedResource): boolean {
  const found = (value: unknown): boolean =>
    value !== null &&
    typeof value === 'object' &&
    (Object.hasOwn(value, '$inline') || Object.values(value).some(found));
  return found(resource.endpoint);
}
