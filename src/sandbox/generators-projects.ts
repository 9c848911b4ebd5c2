/**
 * The generic parent → child dataset behind `/generic/projects` and `/generic/projects/{projectId}/tasks`:
 * projects, each with its own list of tasks. Deterministic per (seed, count): project i and its tasks come from
 * their own PRNGs, so any project can be produced alone. Tests compute their expectations from
 * {@link createProjectDataset} (or `sandbox.projects`) without any HTTP.
 *
 * A project's `id` (an integer) is NOT its `key` (`PRJ-<n>`), so a config can use `key` as primary key while the
 * child path resolves `id`. Tasks carry no project id: only the parent links them. Task counts vary: every 6th
 * project from the 4th has none, the 1st, 7th, 13th… have 8–15 (several pages at a small limit), the others 1–6.
 */
import { chance, createRandom, hashString, intBetween, mixSeed, pick, type Random } from './random.ts';
import { emailFor, isoTimestamp, personName } from './vocabulary.ts';

/** The default number of projects (option `projects`). */
export const defaultProjectCount = 25;

export interface ProjectOwner {
  readonly id: number;
  readonly name: string;
  readonly email: string;
}

/** A parent record, as `/generic/projects` serves it. */
export interface Project {
  /** `1000 + 7 × n` for the n-th project (n from 1): what the child path takes. */
  readonly id: number;
  /** `PRJ-<n>`: unique, stable, and not the id. */
  readonly key: string;
  readonly name: string;
  readonly owner: ProjectOwner;
  readonly archived: boolean;
  readonly createdAt: string;
}

export type TaskPriority = 'low' | 'medium' | 'high';

/** A child record, as `/generic/projects/{projectId}/tasks` serves it (no project id in it). */
export interface Task {
  /** Unique across all projects: 1, 2, 3… in project order, then task order. */
  readonly id: number;
  readonly title: string;
  readonly done: boolean;
  readonly priority: TaskPriority;
  readonly assignee: { readonly id: number; readonly name: string } | null;
  readonly createdAt: string;
}

/** The projects and tasks of one (seed, count). */
export interface ProjectDataset {
  readonly seed: number;
  /** How many projects there are. */
  readonly count: number;
  /** Every project, in the order the parent route serves them. */
  projects(): readonly Project[];
  /** Projects `start` to `end` (exclusive), in order. */
  projectRange(start: number, end: number): readonly Project[];
  /** The project whose `id` (the integer, not the key) is `id`, or undefined. */
  project(id: number): Project | undefined;
  /** The tasks of project `id`, in served order; undefined for an unknown id. */
  tasksOf(id: number): readonly Task[] | undefined;
  /** How many tasks project `id` has (0 for an unknown id). */
  taskCountOf(id: number): number;
  /** How many tasks all projects have together. */
  readonly taskTotal: number;
}

const idBase = 1000;
const idStep = 7;
const projectSalt = hashString('generic:projects');
const taskSalt = hashString('generic:tasks');

const projectWords = [
  'Apollo',
  'Borealis',
  'Cobalt',
  'Delta',
  'Ember',
  'Fjord',
  'Gingko',
  'Halcyon',
] as const;
const projectKinds = [
  'Migration',
  'Launch',
  'Audit',
  'Redesign',
  'Rollout',
  'Cleanup',
  'Überarbeitung',
] as const;
const verbs = ['Write', 'Review', 'Fix', 'Deploy', 'Test', 'Document', 'Plan', 'Refactor'] as const;
const objects = [
  'the API',
  'billing',
  'the onboarding flow',
  'search',
  'exports',
  'the café menu',
  '報告',
] as const;
const priorities: readonly TaskPriority[] = ['low', 'medium', 'high'];

/** The id of the project at `index` (from 0). */
export function projectIdAt(index: number): number {
  return idBase + idStep * (index + 1);
}

/** The index of the project with this id, or undefined when no project of `count` has it. */
function indexOfId(id: number, count: number): number | undefined {
  if (!Number.isSafeInteger(id) || (id - idBase) % idStep !== 0) return undefined;
  const index = (id - idBase) / idStep - 1;
  return index >= 0 && index < count ? index : undefined;
}

function taskCountAt(seed: number, index: number): number {
  const random = createRandom(mixSeed(seed, taskSalt, index, 0xc0417));
  if (index % 6 === 3) return 0;
  return index % 6 === 0 ? intBetween(random, 8, 15) : intBetween(random, 1, 6);
}

function makeProject(random: Random, index: number): Project {
  const name = personName(random);
  return {
    id: projectIdAt(index),
    key: `PRJ-${index + 1}`,
    name: `${pick(random, projectWords)} ${pick(random, projectKinds)}`,
    owner: { id: intBetween(random, 1, 50), name, email: emailFor(name, random) },
    archived: chance(random, 0.15),
    createdAt: isoTimestamp(random),
  };
}

function makeTask(random: Random, id: number): Task {
  return {
    id,
    title: `${pick(random, verbs)} ${pick(random, objects)}`,
    done: chance(random, 0.4),
    priority: pick(random, priorities),
    assignee: chance(random, 0.25) ? null : { id: intBetween(random, 1, 50), name: personName(random) },
    createdAt: isoTimestamp(random),
  };
}

/** The projects and tasks of `seed` with `count` projects (generated on demand; only task counts are kept). */
export function createProjectDataset(options: {
  readonly seed: number;
  readonly count: number;
}): ProjectDataset {
  const { seed, count } = options;
  if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`invalid project count ${count}`);
  // firstTaskId[i]: the id of project i's first task; firstTaskId[count]: one past the last task id.
  const firstTaskId = new Float64Array(count + 1);
  firstTaskId[0] = 1;
  for (let index = 0; index < count; index += 1) {
    firstTaskId[index + 1] = (firstTaskId[index] ?? 0) + taskCountAt(seed, index);
  }
  const at = (index: number): Project => makeProject(createRandom(mixSeed(seed, projectSalt, index)), index);
  const range = (start: number, end: number): readonly Project[] => {
    const projects: Project[] = [];
    for (let index = Math.max(0, start); index < Math.min(end, count); index += 1) projects.push(at(index));
    return projects;
  };
  const tasksAt = (index: number): readonly Task[] => {
    const first = firstTaskId[index] ?? 0;
    const end = firstTaskId[index + 1] ?? 0;
    const tasks: Task[] = [];
    for (let id = first; id < end; id += 1)
      tasks.push(makeTask(createRandom(mixSeed(seed, taskSalt, id)), id));
    return tasks;
  };
  return {
    seed,
    count,
    projects: () => range(0, count),
    projectRange: range,
    project(id) {
      const index = indexOfId(id, count);
      return index === undefined ? undefined : at(index);
    },
    tasksOf(id) {
      const index = indexOfId(id, count);
      return index === undefined ? undefined : tasksAt(index);
    },
    taskCountOf(id) {
      const index = indexOfId(id, count);
      return index === undefined ? 0 : (firstTaskId[index + 1] ?? 0) - (firstTaskId[index] ?? 0);
    },
    taskTotal: (firstTaskId[count] ?? 1) - 1,
  };
}
