/**
 * The checks across the analysed resources of a source: duplicate resource and table names, table names too long
 * for Postgres, unknown parents, dependency cycles, `merge` without a primary key, and deletion detection where a
 * fetch cannot see the whole table.
 */
import type { AnalysedResource } from './analyse-resource.ts';
import { didYouMean, type ConfigProblem } from './problems.ts';

/** Adds the problems across `resources` to `problems`. */
export function checkAcrossResources(
  resources: readonly AnalysedResource[],
  problems: ConfigProblem[],
): void {
  const byName = new Map<string, AnalysedResource>();
  for (const analysed of resources) {
    const first = byName.get(analysed.resource.name);
    if (first === undefined) byName.set(analysed.resource.name, analysed);
    else {
      problems.push({
        path: analysed.locate.name(),
        message: `duplicate resource name "${analysed.resource.name}" (first defined at ${first.path})`,
      });
    }
  }
  const names = [...byName.keys()];

  const tables = new Map<string, AnalysedResource>();
  for (const analysed of resources) {
    const bytes = Buffer.byteLength(analysed.tableName, 'utf8');
    if (bytes > 63) {
      problems.push({
        path:
          analysed.resource.table_name === undefined
            ? analysed.locate.name()
            : analysed.locate.key('table_name'),
        message: `the table name is ${bytes} bytes long; Postgres allows 63 (set a shorter table_name)`,
      });
    }
    const other = tables.get(analysed.tableName);
    if (other !== undefined && other.resource.name !== analysed.resource.name) {
      problems.push({
        path: analysed.locate.key('table_name'),
        message: `resources "${other.resource.name}" and "${analysed.resource.name}" both write the table "${analysed.tableName}"`,
      });
    } else tables.set(analysed.tableName, analysed);
  }

  for (const analysed of resources) {
    const parent = analysed.parent;
    if (parent !== null && !byName.has(parent.name)) {
      problems.push({
        path: analysed.locate.endpoint('path'),
        message: `unknown parent resource "${parent.name}"${didYouMean(parent.name, names)}; the resources are: ${names.join(', ')}`,
      });
    }
  }

  const reported = new Set<string>();
  for (const start of resources) {
    const chain: string[] = [];
    let current: AnalysedResource | undefined = start;
    while (current !== undefined && !chain.includes(current.resource.name)) {
      chain.push(current.resource.name);
      current = current.parent === null ? undefined : byName.get(current.parent.name);
    }
    if (current === undefined) continue;
    const cycle = chain.slice(chain.indexOf(current.resource.name));
    const key = [...cycle].sort().join('\u0000');
    if (reported.has(key)) continue;
    reported.add(key);
    const first = resources.find((candidate) => cycle.includes(candidate.resource.name)) ?? start;
    const from = cycle.indexOf(first.resource.name);
    const ordered = [...cycle.slice(from), ...cycle.slice(0, from), first.resource.name];
    problems.push({
      path: first.locate.endpoint('path'),
      message: `dependency cycle: ${ordered.join(' → ')} (each resource's requests need records of the next)`,
    });
  }

  for (const analysed of resources) {
    const { resource } = analysed;
    if (analysed.writeDisposition === 'merge' && analysed.primaryKey.length === 0) {
      problems.push({
        path: analysed.locate.key('write_disposition'),
        message: `merge needs a primary key: set primary_key on "${resource.name}" (or in resource_defaults)`,
      });
    }
    if (resource.deletion_detection !== true) continue;
    const at = analysed.locate.key('deletion_detection');
    const inherited = at.startsWith('resource_defaults')
      ? ' (set in resource_defaults; set it to false on this resource)'
      : '';
    if (analysed.parent !== null) {
      problems.push({
        path: at,
        message: `deletion detection is refused for "${resource.name}": its requests depend on the parent resource "${analysed.parent.name}", so no fetch sees the whole table${inherited}`,
      });
    } else if (analysed.parameterDependent) {
      problems.push({
        path: at,
        message: `deletion detection is refused for "${resource.name}": its request depends on config values (${[...analysed.configKeys.keys()].join(', ')}), so a fetch does not see the whole table${inherited}`,
      });
    } else if (analysed.writeDisposition !== 'merge') {
      problems.push({
        path: at,
        message: `deletion detection needs write_disposition merge ("${resource.name}" uses ${analysed.writeDisposition})${inherited}`,
      });
    }
  }
}
